import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Backends;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.weights.Precision;

import java.util.SplittableRandom;

/**
 * Plain throughput measurement of the Hydra BERT encoder (fp32, Backends.cpu()): the paper's configuration
 * (23 layers, hidden 768, Hydra defaults), seeded weights, batches of B full-length sequences of length L.
 * Usage: java --add-modules jdk.incubator.vector -cp CLASSPATH BertThroughput.java [layers] [batch] [len] [batches]
 */
public class BertThroughput {
    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 23;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int len = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int batches = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 30522).put("hidden_size", 768).put("num_hidden_layers", layers).put("max_position_embeddings", 512);
        BertConfig c = BertConfig.fromJson(o, "benchmark config");
        Backend be = Backends.cpu();
        try (BertModel m = BertModel.load(c, SeededBert.weights(c, 42, false, 0, ""), "", "", Precision.FP32, be)) {
            m.forward(tokens(c, 2, len, 1), BertModel.Padding.RELEASE); // warm-up (JIT)
            Tokens in = tokens(c, batch, len, 2);
            var threads = java.lang.management.ManagementFactory.getThreadMXBean();
            long t0 = System.nanoTime(), cpu0 = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < batches; i++) m.forward(in, BertModel.Padding.RELEASE);
            double s = (System.nanoTime() - t0) / 1e9, cpu = (threads.getCurrentThreadCpuTime() - cpu0) / 1e9;
            // the scalar backend runs on the calling thread, so its CPU time is the work without the machine's contention
            System.out.printf("backend=%s layers=%d hidden=768 L=%d B=%d: wall %.1f s per batch = %.3f sentences/s; "
                            + "thread CPU %.1f s per batch = %.3f sentences per CPU-second (%d batches)%n",
                    be.name(), layers, len, batch, s / batches, batch * batches / s, cpu / batches, batch * batches / cpu, batches);
        }
    }

    static Tokens tokens(BertConfig c, int batch, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[batch * len], types = new int[batch * len], mask = new int[batch * len];
        for (int i = 0; i < ids.length; i++) { ids[i] = r.nextInt(c.vocabSize()); mask[i] = 1; }
        return new Tokens(batch, len, ids, types, mask);
    }
}
