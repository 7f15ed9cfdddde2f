package dev.hydra.tests.harden;

import dev.hydra.config.HydraConfig;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.SafeTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.MixerLayer;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import dev.hydra.tests.Golden;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The thread-safety contract (docs/harden.md): one loaded layer (Hydra or a matrix mixer), fp32 on the
 * CPU backend or fp64 reference, called from 16 threads at once (1,000 calls each for Hydra, 250 per
 * mixer type), gives every caller the bit-identical result that a
 * single-threaded call gives for the same input; one mapped weight file read from many threads gives
 * every reader the same tensors.
 */
class ConcurrencyTest {
    static final int THREADS = 16, CALLS = 1_000, MIXER_CALLS = 250;

    record Case(int batch, int len, double[] u, float[] fp32, double[] fp64) {}

    @Test
    void sixteenThreadsReadingOneMappedFileGetTheSameTensors() throws Exception {
        try (SafeTensors st = Golden.open("hydra_p2.safetensors")) {
            List<String> names = List.copyOf(st.names());
            List<double[]> expected = names.stream().map(st::doubles).toList();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<Integer>> mismatches = new ArrayList<>();
                for (int thread = 0; thread < THREADS; thread++)
                    mismatches.add(pool.submit(() -> {
                        int bad = 0;
                        for (int round = 0; round < 50; round++)
                            for (int i = 0; i < names.size(); i++)
                                if (!Arrays.equals(st.doubles(names.get(i)), expected.get(i))) bad++;
                        return bad;
                    }));
                for (Future<Integer> f : mismatches) assertThat(f.get(60, TimeUnit.SECONDS)).isZero();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void sixteenThreadsSharingOneLayerGetBitIdenticalResults() throws Exception {
        // every optional part on: biases, learnable initial states, two groups; chunk 4 so that scans span chunks
        HydraConfig c = new HydraConfig(8, 4, 3, 2, 4, 2, 0.0, Double.POSITIVE_INFINITY, true, true, true, 4);
        InMemoryTensors t = Fixture.weights(c, 21);
        ReferenceHydra ref = Fixture.fp64(c, t);
        try (HydraLayer layer = Fixture.fp32(c, t)) {
            List<Case> cases = new ArrayList<>();
            for (int batch = 1; batch <= 3; batch++)
                for (int len : new int[] {1, 2, 5, 9, 16}) {
                    double[] u = Fixture.input(100 * batch + len, batch * len * c.dModel(), 2);
                    cases.add(new Case(batch, len, u, layer.forward(Fixture.floats(u), batch, len), ref.forward(u, batch, len)));
                }
            assertThat(mismatches(cases, CALLS, k -> layer.forward(Fixture.floats(k.u()), k.batch(), k.len()),
                    k -> ref.forward(k.u(), k.batch(), k.len()))).isZero();
        }
    }

    @Test
    void sixteenThreadsSharingOneMatrixMixerGetBitIdenticalResults() throws Exception {
        // the quasiseparable runs on the backend's scans; the toeplitz mixes on the host (FFT)
        for (MixerType type : new MixerType[] {MixerType.QUASISEPARABLE, MixerType.TOEPLITZ}) {
            MixerConfig c = new MixerConfig(type, true, 8, 2, 16, 3, 2, 4, 4);
            InMemoryTensors t = MixerWeights.seeded(c, 22);
            ReferenceMixer ref = new ReferenceMixer(MixerWeights.load(c, t, "", Precision.FP64));
            try (MixerLayer layer = new MixerLayer(MixerWeights.load(c, t, "", Precision.FP32), Backends.cpu())) {
                List<Case> cases = new ArrayList<>();
                for (int batch = 1; batch <= 3; batch++)
                    for (int len : new int[] {1, 2, 5, 9, 16}) {
                        double[] u = Fixture.input(200 * batch + len, batch * len * c.dModel(), 2);
                        cases.add(new Case(batch, len, u, layer.forward(Fixture.floats(u), batch, len), ref.forward(u, batch, len)));
                    }
                assertThat(mismatches(cases, MIXER_CALLS, k -> layer.forward(Fixture.floats(k.u()), k.batch(), k.len()),
                        k -> ref.forward(k.u(), k.batch(), k.len()))).as("%s", type.key()).isZero();
            }
        }
    }

    /** THREADS threads x {@code calls} calls over the cases, alternating fp32 and fp64; the number of results unlike the single-threaded ones. */
    static int mismatches(List<Case> cases, int calls, Function<Case, float[]> fp32, Function<Case, double[]> fp64) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> bad = new ArrayList<>();
            for (int thread = 0; thread < THREADS; thread++) {
                int id = thread;
                bad.add(pool.submit(() -> {
                    start.await();
                    int n = 0;
                    for (int call = 0; call < calls; call++) {
                        Case k = cases.get((id * 7 + call * 13) % cases.size());
                        boolean same = (call + id) % 2 == 0 ? Arrays.equals(fp32.apply(k), k.fp32()) : Arrays.equals(fp64.apply(k), k.fp64());
                        if (!same) n++;
                    }
                    return n;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : bad) total += f.get(120, TimeUnit.SECONDS);
            return total;
        } finally {
            pool.shutdownNow();
        }
    }
}
