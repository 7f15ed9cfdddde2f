package dev.hydra.tests.bert;

import dev.hydra.Accuracy;
import dev.hydra.backend.Backend;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.Output;
import dev.hydra.bert.Tokens;
import dev.hydra.io.SafeTensors;
import dev.hydra.runtime.Backends;
import dev.hydra.tests.Bounds;
import dev.hydra.tests.Golden;
import dev.hydra.weights.Precision;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The encoder against the release's BertModel (golden/hydrabert_pub.safetensors: 2 layers, padded batch 20, 13, 7). */
class BertGoldenTest {

    static Output run(Precision<?> p, BertModel.Padding padding) {
        return run(p, padding, Backends.cpu());
    }

    static Output run(Precision<?> p, BertModel.Padding padding, Backend backend) {
        try (SafeTensors st = Golden.open("hydrabert_pub.safetensors");
             BertModel m = BertModel.load(BertConfig.fromJson(Golden.config(st), "golden config"), st, "param.", "param.", p, backend)) {
            long[] shape = st.info("input_ids").shape();
            Tokens in = Tokens.ofLongs((int) shape[0], (int) shape[1], st.longs("input_ids"), st.longs("token_type_ids"), st.longs("attention_mask"));
            return m.forward(in, padding);
        }
    }

    static double[] golden(String name) {
        try (SafeTensors st = Golden.open("hydrabert_pub.safetensors")) {
            return st.doubles(name);
        }
    }

    @Test
    void fp64MatchesTheRelease() {
        Output o = run(Precision.FP64, BertModel.Padding.RELEASE);
        assertThat(Accuracy.relErr(o.sequence(), golden("sequence_output"))).isLessThan(Bounds.BERT_SEQUENCE);
        assertThat(Accuracy.relErr(o.pooled(), golden("pooled_output"))).isLessThan(Bounds.BERT_POOLED);
    }

    /** The fp32 encoder, wholly on the backend, on the scalar and the Vector API kernels. */
    @Test
    void fp32MatchesTheRelease() {
        for (Backend be : new Backend[] {new ScalarBackend(), new VectorBackend(2)}) {
            Output o = run(Precision.FP32, BertModel.Padding.RELEASE, be);
            System.out.printf("hydrabert_pub fp32 on %s: sequence_output rel err %.2e, pooled_output %.2e%n", be.name(),
                    Accuracy.relErr(o.sequence(), golden("sequence_output")), Accuracy.relErr(o.pooled(), golden("pooled_output")));
            assertThat(Accuracy.relErr(o.sequence(), golden("sequence_output"))).as(be.name()).isLessThan(1e-4);
            assertThat(Accuracy.relErr(o.pooled(), golden("pooled_output"))).as(be.name()).isLessThan(1e-4);
        }
    }

    @Test
    void paddedPositionsAreZeroLikeTheRelease() {
        double[] g = golden("sequence_output");
        int[] lengths = {20, 13, 7};
        for (Precision<?> p : new Precision<?>[] {Precision.FP64, Precision.FP32}) {
            Output o = run(p, BertModel.Padding.RELEASE);
            int zeros = 0;
            for (int b = 0; b < 3; b++)
                for (int t = lengths[b]; t < 20; t++)
                    for (int i = 0; i < 64; i++) {
                        int k = (b * 20 + t) * 64 + i;
                        assertThat(g[k]).isZero();
                        assertThat(o.sequence()[k]).isZero();
                        zeros++;
                    }
            assertThat(zeros).isEqualTo((7 + 13) * 64);
        }
    }
}
