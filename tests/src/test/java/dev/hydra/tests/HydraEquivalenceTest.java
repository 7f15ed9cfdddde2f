package dev.hydra.tests;

import dev.hydra.Accuracy;
import dev.hydra.backend.Backend;
import dev.hydra.config.HydraConfig;
import dev.hydra.forward.Stages;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.layer.HydraLayer;
import dev.hydra.layer.Layers;
import dev.hydra.reference.ReferenceHydra.Mixing;
import dev.hydra.reference.ReferenceHydra;
import dev.hydra.runtime.Backends;
import dev.hydra.tests.HydraCase.DtLimit;
import dev.hydra.tests.HydraCase.LengthCase;
import dev.hydra.tests.HydraCase.Options;
import dev.hydra.tests.HydraCase.Sequence;
import dev.hydra.tests.HydraCase.Shape;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.statistics.Statistics;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;

import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of the Hydra layer over random configurations (jqwik): the three fp64 mixing algorithms
 * agree, the chunk size does not matter, the materialized matrix is quasiseparable, and the fp32 engine
 * follows the fp64 reference. Errors are max|a - b| / max|b| ({@link dev.hydra.Accuracy#relErr}).
 */
class HydraEquivalenceTest {
    /** Measured: at most 8.5e-16 over every fp64 comparison of 100 tries (docs/testing.md). */
    static final double FP64_TOLERANCE = 5e-14;
    static final double FP32_TOLERANCE = 1e-4;
    /** Singular values below this fraction of the largest count as zero. */
    static final double RANK_THRESHOLD = 1e-9;

    @Property(tries = 100)
    void chunkedRecurrenceAndDenseMixingAgree(@ForAll("cases") HydraCase k) {
        Stages<double[]> recurrence = k.reference(Mixing.RECURRENCE), chunked = k.reference(Mixing.CHUNKED);
        assertClose(chunked.output(), recurrence.output(), FP64_TOLERANCE, "output, chunked vs recurrence");
        assertClose(chunked.mix(), recurrence.mix(), FP64_TOLERANCE, "mix, chunked vs recurrence");
        if (!k.config().learnableInitStates()) {
            Stages<double[]> dense = k.reference(Mixing.DENSE);
            assertClose(dense.output(), recurrence.output(), FP64_TOLERANCE, "output, dense vs recurrence");
            assertClose(dense.mix(), recurrence.mix(), FP64_TOLERANCE, "mix, dense vs recurrence");
        }
        Statistics.label("chunked vs recurrence").collect(magnitude(Accuracy.relErr(chunked.output(), recurrence.output())));
        checkCoverage(k);
    }

    @Property(tries = 50)
    void dtLimitClampsTheStepSizes(@ForAll("cases") HydraCase k) {
        HydraConfig c = k.config();
        Stages<double[]> s = k.reference(Mixing.RECURRENCE);
        double[] dt = HydraCase.concat(s.dtF(), s.dtB());
        int clamped = 0;
        for (int i = 0; i < dt.length; i++) {
            double expected = Math.min(Math.max(k.unclampedDt()[i], c.dtMin()), c.dtMax());
            assertThat(dt[i]).as("dt[%d] of %s", i, k).isEqualTo(expected);
            if (expected != k.unclampedDt()[i]) clamped++;
        }
        assertThat(clamped > 0).as("some dt clamped by dt_limit [%s, %s]", c.dtMin(), c.dtMax())
                .isEqualTo(k.dtLimit() != DtLimit.NONE);
    }

    @Property(tries = 60)
    void chunkSizeDoesNotChangeTheResult(@ForAll("cases") HydraCase k, @ForAll("chunkSizes") int otherChunk,
                                         @ForAll("cpuBackends") String backend) {
        HydraCase other = k.withChunkSize(otherChunk);
        Stages<double[]> a = k.reference(Mixing.CHUNKED), b = other.reference(Mixing.CHUNKED);
        assertClose(b.output(), a.output(), FP64_TOLERANCE, "output, chunk " + otherChunk + " vs " + k.config().chunkSize());
        assertClose(b.mix(), a.mix(), FP64_TOLERANCE, "mix, chunk " + otherChunk + " vs " + k.config().chunkSize());
        try (Backend be = Backends.named(backend); HydraLayer fp32 = other.fp32(be)) {
            assertClose(fp32.forward(k.input(), k.batch(), k.len()), a.output(), FP32_TOLERANCE,
                    "fp32 output with chunk " + otherChunk + " vs fp64 with chunk " + k.config().chunkSize());
        }
    }

    @Property(tries = 50)
    void reversingTheSequenceExchangesTheDirections(@ForAll("cases") HydraCase k, @ForAll("cpuBackends") String backend) {
        double[] expected = HydraCase.reverseTime(k.reference(Mixing.CHUNKED).output(), k.batch(), k.len());
        InMemoryTensors mirrored = k.mirroredWeights();
        double[] fp64 = new ReferenceHydra(HydraWeights.load(k.config(), mirrored, "", Precision.FP64))
                .forward(Layers.widen(k.reversedInput()), k.batch(), k.len());
        assertClose(fp64, expected, FP64_TOLERANCE, "fp64 mirrored layer on the reversed input");
        try (Backend be = Backends.named(backend);
             HydraLayer fp32 = new HydraLayer(HydraWeights.load(k.config(), mirrored, "", Precision.FP32), be)) {
            assertClose(fp32.forward(k.reversedInput(), k.batch(), k.len()), expected, FP32_TOLERANCE,
                    "fp32 mirrored layer on the reversed input");
        }
    }

    @Property(tries = 40)
    void sequencesOfABatchDoNotInteract(@ForAll("cases") HydraCase k, @ForAll("cpuBackends") String backend) {
        int d = k.config().dModel(), rows = k.len() * d;
        double[] fp64 = k.reference(Mixing.CHUNKED).output();
        try (Backend be = Backends.named(backend); HydraLayer layer = k.fp32(be)) {
            float[] fp32 = layer.forward(k.input(), k.batch(), k.len());
            for (int b = 0; b < k.batch(); b++) {
                float[] one = Arrays.copyOfRange(k.input(), b * rows, (b + 1) * rows);
                double[] alone64 = k.reference().forward(Layers.widen(one), 1, k.len());
                assertClose(Arrays.copyOfRange(fp64, b * rows, (b + 1) * rows), alone64, FP64_TOLERANCE, "fp64 batch row " + b);
                float[] alone32 = layer.forward(one, 1, k.len());
                assertClose(Arrays.copyOfRange(fp32, b * rows, (b + 1) * rows), Layers.widen(alone32), FP32_TOLERANCE, "fp32 batch row " + b);
            }
        }
    }

    @Property(tries = 40)
    void offDiagonalBlocksHaveRankAtMostDState(@ForAll("rankCases") HydraCase k) {
        int L = k.len(), H = k.config().nheads(), N = k.config().dState();
        double[] m = k.reference().materialize(Layers.widen(k.input()), k.batch(), L);
        int largest = 0;
        for (int b = 0; b < k.batch(); b++)
            for (int h = 0; h < H; h++) {
                int base = (b * H + h) * L * L;
                for (int split = 1; split < L; split++) {
                    int below = rank(block(m, base, L, split, L, 0, split));
                    int above = rank(block(m, base, L, 0, split, split, L));
                    assertThat(Math.max(below, above)).as("rank of the blocks split at %d, batch %d, head %d, d_state %d",
                            split, b, h, N).isLessThanOrEqualTo(N);
                    largest = Math.max(largest, Math.max(below, above));
                }
            }
        Statistics.label("largest block rank").collect(largest == N ? "= d_state" : "< d_state");
    }

    @Property(tries = 100)
    void fp32EngineMatchesTheFp64Reference(@ForAll("cases") HydraCase k, @ForAll("cpuBackends") String backend) {
        double[] expected = k.reference(Mixing.CHUNKED).output();
        try (Backend be = Backends.named(backend); HydraLayer fp32 = k.fp32(be)) {
            float[] out = fp32.forward(k.input(), k.batch(), k.len());
            assertClose(out, expected, FP32_TOLERANCE, "fp32 output");
            Statistics.label("fp32 vs fp64").collect(magnitude(Accuracy.relErr(out, expected)));
            Statistics.label("backend").collect(backend + " = " + be.name());
        }
    }

    @Property(tries = 60)
    void fp32StagesMatchTheFp64Stages(@ForAll("cases") HydraCase k, @ForAll("cpuBackends") String backend) {
        Map<String, double[]> expected = k.reference(Mixing.CHUNKED).named();
        try (Backend be = Backends.named(backend); HydraLayer fp32 = k.fp32(be)) {
            Map<String, float[]> got = fp32.forwardStages(k.input(), k.batch(), k.len()).named();
            assertThat(got.keySet()).isEqualTo(expected.keySet());
            expected.forEach((name, want) -> assertClose(got.get(name), want, FP32_TOLERANCE, "fp32 " + name));
        }
    }

    @Provide
    Arbitrary<HydraCase> cases() {
        return Combinators.combine(shapes(), options(true), sequences(), seeds()).as(HydraCase::build);
    }

    /** Cases whose off-diagonal blocks can exceed rank d_state: L > d_state + 1, no initial states. */
    @Provide
    Arbitrary<HydraCase> rankCases() {
        return Combinators.combine(shapes(), options(false), Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(0, 30).withDistribution(RandomDistribution.uniform()).withoutEdgeCases(), seeds())
                .as((shape, options, batch, extra, seed) ->
                        HydraCase.build(shape, options, new Sequence(batch, shape.dState() + 2 + extra, 16), seed));
    }

    /** Weight and input seeds; their edge cases (0, Long.MIN_VALUE, ...) would add nothing. */
    private static Arbitrary<Long> seeds() {
        return Arbitraries.longs().withoutEdgeCases();
    }

    /** The plain-Java kernels and the fastest CPU backend of this build (the same one until a faster exists). */
    @Provide
    Arbitrary<String> cpuBackends() {
        return Arbitraries.of("scalar", "cpu");
    }

    @Provide
    Arbitrary<Integer> chunkSizes() {
        return Arbitraries.oneOf(Arbitraries.integers().between(1, 16), Arbitraries.of(64, 256, Integer.MAX_VALUE));
    }

    private static Arbitrary<Shape> shapes() {
        return Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 7), Arbitraries.integers().between(0, 3),
                Arbitraries.integers().between(1, 8), Arbitraries.of(1, 3, 5, 7)).as(Shape::new);
    }

    private static Arbitrary<Options> options(boolean initStates) {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(true, false),
                initStates ? Arbitraries.of(true, false) : Arbitraries.just(false), Arbitraries.of(DtLimit.class),
                Arbitraries.integers().between(5, 45), Arbitraries.integers().between(55, 95)).as(Options::new);
    }

    /** A length drawn for each relation to the chunk size, with L <= 64 and chunks of 1..16. */
    private static Arbitrary<Sequence> sequences() {
        return Combinators.combine(Arbitraries.integers().between(1, 3), Arbitraries.of(LengthCase.class),
                Arbitraries.integers().between(1, 16), Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(0, 1000).withDistribution(RandomDistribution.uniform()).withoutEdgeCases())
                .as(HydraEquivalenceTest::sequence);
    }

    /** A sequence of the given {@link LengthCase}; {@code chunks} and {@code pick} choose its length. */
    private static Sequence sequence(int batch, LengthCase lengthCase, int chunk, int chunks, int pick) {
        return switch (lengthCase) {
            case ONE -> new Sequence(batch, 1, chunk);
            case SHORTER_THAN_CHUNK -> {
                int q = Math.max(chunk, 3);
                yield new Sequence(batch, 2 + pick % (q - 2), q);
            }
            case MULTIPLE_OF_CHUNK -> new Sequence(batch, chunk * (chunks + 1), chunk);
            case NOT_A_MULTIPLE -> {
                int q = Math.max(chunk, 2);
                yield new Sequence(batch, q * chunks + 1 + pick % (q - 1), q);
            }
        };
    }

    /** Fails the property unless every option value was drawn at least once. */
    private static void checkCoverage(HydraCase k) {
        HydraConfig c = k.config();
        Statistics.label("length").collect(k.lengthCase());
        Statistics.label("dt_limit").collect(k.dtLimit());
        Statistics.label("ngroups > 1").collect(c.ngroups() > 1);
        Statistics.label("headdim odd").collect(c.headdim() % 2 == 1);
        Statistics.label("d_conv").collect(c.dConv());
        Statistics.label("bias, conv_bias, init_states").collect(c.bias(), c.convBias(), c.learnableInitStates());
        Statistics.label("batch").collect(k.batch());
        Statistics.label("length").coverage(cov -> Arrays.stream(LengthCase.values()).forEach(v -> cov.check(v).count(n -> n > 0)));
        Statistics.label("dt_limit").coverage(cov -> Arrays.stream(DtLimit.values()).forEach(v -> cov.check(v).count(n -> n > 0)));
        Statistics.label("ngroups > 1").coverage(cov -> cov.check(true).count(n -> n > 0));
        Statistics.label("headdim odd").coverage(cov -> cov.check(true).count(n -> n > 0));
        Statistics.label("d_conv").coverage(cov -> { for (int d : new int[] {1, 3, 5, 7}) cov.check(d).count(n -> n > 0); });
        Statistics.label("bias, conv_bias, init_states").coverage(cov -> {
            for (boolean v : new boolean[] {true, false}) {
                cov.checkQuery(l -> l.get(0).equals(v)).count(n -> n > 0);
                cov.checkQuery(l -> l.get(1).equals(v)).count(n -> n > 0);
                cov.checkQuery(l -> l.get(2).equals(v)).count(n -> n > 0);
            }
        });
        Statistics.label("batch").coverage(cov -> { for (int b = 1; b <= 3; b++) cov.check(b).count(n -> n > 0); });
    }

    static void assertClose(double[] actual, double[] expected, double tolerance, String what) {
        assertThat(Accuracy.relErr(actual, expected)).as(what).isLessThanOrEqualTo(tolerance);
    }

    static void assertClose(float[] actual, double[] expected, double tolerance, String what) {
        assertThat(Accuracy.relErr(actual, expected)).as(what).isLessThanOrEqualTo(tolerance);
    }

    /** The order of magnitude of an error, for the statistics report ("1e-13"). */
    private static String magnitude(double err) {
        return err == 0 ? "0" : "1e" + (int) Math.floor(Math.log10(err));
    }

    /** Rows [r0, r1) x columns [c0, c1) of the L x L matrix at {@code base}. */
    private static DMatrixRMaj block(double[] m, int base, int L, int r0, int r1, int c0, int c1) {
        DMatrixRMaj out = new DMatrixRMaj(r1 - r0, c1 - c0);
        for (int i = r0; i < r1; i++)
            for (int j = c0; j < c1; j++) out.set(i - r0, j - c0, m[base + i * L + j]);
        return out;
    }

    /** Numerical rank: singular values above {@link #RANK_THRESHOLD} times the largest. */
    private static int rank(DMatrixRMaj a) {
        double[] sv = SingularOps_DDRM.singularValues(a);
        double max = Arrays.stream(sv).max().orElse(0);
        return (int) Arrays.stream(sv).filter(s -> s > RANK_THRESHOLD * max).count();
    }
}
