package dev.hydra.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.openjdk.jmh.annotations.*;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The peer: the same layer exported to ONNX, on ONNX Runtime's Java API with one intra-op thread per core. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 3, time = 1)
public class OrtBench {
    @Param({"1x512", "8x512", "1x8192", "1x65536"})
    public String shape;

    /** Set by {@link Suite} (--peer, HYDRA_PEER_DIR); this default is relative to the working directory. */
    @Param({"peer/peer_hydra768.onnx"})
    public String model;

    private OrtEnvironment env;
    private OrtSession session;
    private OnnxTensor input;

    @Setup
    public void setup() throws OrtException {
        int[] bl = BenchLayer.shape(shape);
        env = OrtEnvironment.getEnvironment();
        session = Peer.open(env, model);
        input = OnnxTensor.createTensor(env, FloatBuffer.wrap(BenchLayer.input(bl[0] * bl[1] * 768)), new long[] {bl[0], bl[1], 768});
    }

    @Benchmark
    public Object forward() throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("u", input))) {
            return r.get(0).getValue() == null ? null : Boolean.TRUE;
        }
    }

    @TearDown
    public void tearDown() throws OrtException {
        input.close();
        session.close();
    }
}
