package dev.hydra.bench;

import static dev.hydra.Accuracy.relErr;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.config.HydraConfig;
import dev.hydra.io.SafeTensors;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** ONNX Runtime sessions on the peer model, and the check that ours and ONNX Runtime agree on its sample. */
final class Peer {
    private Peer() {}

    static OrtSession open(OrtEnvironment env, String model) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(Runtime.getRuntime().availableProcessors());
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return env.createSession(model, o);
    }

    /**
     * Loads peer_hydra768.weights.safetensors (next to the model) into our layer at chunk 256, runs the
     * sample input through it and through ONNX Runtime; returns the two relative errors against the
     * sample's PyTorch output and ours against ONNX Runtime, as lines of text.
     */
    static String agreement(Path model) throws OrtException {
        Path dir = model.getParent();
        Path weights = dir.resolve("peer_hydra768.weights.safetensors"), sample = dir.resolve("peer_hydra768.sample.safetensors");
        try (SafeTensors w = SafeTensors.open(weights); SafeTensors s = SafeTensors.open(sample)) {
            ObjectNode cfg = w.metadataJson("config");
            cfg.put("chunk_size", 256);
            HydraConfig c = HydraConfig.fromJson(cfg, weights.toString(), Set.of());
            long[] shape = s.info("input").shape();
            int b = (int) shape[0], l = (int) shape[1];
            float[] u = s.floats("input");
            double[] torch = s.doubles("output");
            float[] ours;
            try (HydraLayer layer = new HydraLayer(HydraWeights.load(c, w, "", Precision.FP32), new VectorBackend())) {
                ours = layer.forward(u, b, l);
            }
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            float[] ort = new float[ours.length];
            try (OrtSession session = open(env, model.toString());
                 OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(u), new long[] {b, l, c.dModel()});
                 OrtSession.Result r = session.run(Map.of("u", in))) {
                ((OnnxTensor) r.get(0)).getFloatBuffer().get(ort);
            }
            return String.format("agreement on %s (B=%d, L=%d): ours vs PyTorch %.2e, ONNX Runtime vs PyTorch %.2e, ours vs ONNX Runtime %.2e (max|diff|/max|ref|)",
                    sample.getFileName(), b, l, relErr(ours, torch), relErr(ort, torch), relErr(ours, widen(ort)));
        }
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
