package dev.hydra.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.Output;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.Tokens;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.Precision;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Hydra BERT encoder throughput, fp32 on a CPU backend: the paper's configuration (23 layers, hidden 768,
 * Hydra defaults d_state 64, headdim 64, expand 2, d_conv 7) with seeded weights, one batch of
 * {@code batch} full sequences of length {@code len} per operation. Sentences/s = batch / (s/op).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class BertBench {
    @Param({"23"}) int layers;
    @Param({"32"}) int batch;
    @Param({"128"}) int len;
    @Param({"cpu"}) String backend;

    BertModel model;
    Tokens tokens;

    @Setup(Level.Trial)
    public void setup() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 30522).put("hidden_size", 768).put("num_hidden_layers", layers).put("max_position_embeddings", 512);
        BertConfig c = BertConfig.fromJson(o, "benchmark config");
        model = BertModel.load(c, SeededBert.weights(c, 42, false, 0, ""), "", "", Precision.FP32, Backends.named(backend));
        SplittableRandom r = new SplittableRandom(1);
        int[] ids = new int[batch * len], types = new int[batch * len], mask = new int[batch * len];
        for (int i = 0; i < ids.length; i++) { ids[i] = r.nextInt(c.vocabSize()); mask[i] = 1; }
        tokens = new Tokens(batch, len, ids, types, mask);
    }

    @Benchmark
    public Output encodeBatch() {
        return model.forward(tokens, BertModel.Padding.RELEASE);
    }

    @TearDown(Level.Trial)
    public void close() {
        model.close();
    }
}
