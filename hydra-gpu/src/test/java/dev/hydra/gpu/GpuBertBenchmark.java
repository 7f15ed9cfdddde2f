package dev.hydra.gpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.SeededBert;
import dev.hydra.perf.BertThroughput;
import dev.hydra.weights.Precision;

/**
 * The GPU encoder benchmark of issue 12, the configuration of the release's {@code bench.py bert}: 23 layers,
 * hidden 768, vocab 30522, Hydra defaults (d_state 64, headdim 64, expand 2, d_conv 7, chunk 256), post-norm,
 * no position embeddings, every token valid; fp32, seeded weights; (32, 128) and (8, 512); the whole call
 * (ids and mask in, sequence and pooled outputs out), median of timed calls.
 * Run: {@code java -cp ... dev.hydra.gpu.GpuBertBenchmark [matmul modes]}.
 */
public final class GpuBertBenchmark {
    private static final int[][] SHAPES = {{32, 128}, {8, 512}};
    private static final double GIB = 1L << 30;

    private GpuBertBenchmark() {}

    public static void main(String[] args) {
        String[] modes = args.length > 0 ? args : new String[] {"TF32X3", "TF32"};
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 30522).put("hidden_size", 768).put("num_hidden_layers", 23).put("max_position_embeddings", 512)
                .put("d_state", 64).put("headdim", 64).put("chunk_size", 256).put("d_conv", 7).put("expand", 2);
        BertConfig c = BertConfig.fromJson(o, "bench.py's BERT config");
        try {
            for (String mode : modes) {
                try (CudaBackend gpu = new CudaBackend(CudaBackend.Matmul.parse(mode))) {
                    long free0 = gpu.memoryInfo()[0];
                    try (BertModel m = BertModel.load(c, SeededBert.weights(c, 42, false, 0, ""), "", "", Precision.FP32, gpu)) {
                        for (int[] s : SHAPES) {
                            BertThroughput.Result r = BertThroughput.measure(m, BertThroughput.tokens(c, s[0], s[1], 1), 2, 5, 10, 200);
                            System.out.printf("bert23 ours %s B=%d L=%d: %.2f ms, %.1f sequences/s, %.0f tokens/s (%d runs, min %.2f ms)%n",
                                    mode.equals("BF16") ? "bf16" : "fp32 (" + mode.toLowerCase(java.util.Locale.ROOT) + ")", s[0], s[1], r.medianMs(), r.sequencesPerSecond(), r.tokensPerSecond(),
                                    r.ms().length, r.ms()[0]);
                        }
                        System.out.printf("peak device memory (%s): %.2f GiB%n", mode, (free0 - gpu.memoryInfo()[0]) / GIB);
                    }
                }
            }
        } catch (HydraException e) {
            System.err.println("hydra-gpu bert benchmark: " + e.getMessage());
            System.exit(1);
        }
    }
}
