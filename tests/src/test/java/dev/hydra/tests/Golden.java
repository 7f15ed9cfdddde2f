package dev.hydra.tests;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.io.SafeTensors;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;

/** Access to the golden files copied from the PyTorch release into this module's test resources. */
public final class Golden {
    /** Keys the golden files' config metadata carries beside the layer options. */
    public static final Set<String> ANNOTATIONS = Set.of("batch", "seqlen", "triton_fp32_max_rel_err", "lengths");

    private Golden() {}

    public static Path path(String file) {
        try {
            return Path.of(Golden.class.getResource("/golden/" + file).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("golden file missing from test resources: " + file);
        }
    }

    public static SafeTensors open(String file) {
        return SafeTensors.open(path(file));
    }

    public static ObjectNode config(SafeTensors st) {
        return st.metadataJson("config");
    }

    /** max |ours - golden| / max |golden|, the accuracy measure of the golden README. */
    public static double relErr(double[] ours, double[] golden) {
        if (ours.length != golden.length) throw new AssertionError("length " + ours.length + " != " + golden.length);
        double num = 0, den = 0;
        for (int i = 0; i < ours.length; i++) {
            double d = Math.abs(ours[i] - golden[i]);
            if (Double.isNaN(d)) return Double.NaN;
            num = Math.max(num, d);
            den = Math.max(den, Math.abs(golden[i]));
        }
        return num / den;
    }

    public static double relErr(float[] ours, double[] golden) {
        double[] d = new double[ours.length];
        for (int i = 0; i < d.length; i++) d[i] = ours[i];
        return relErr(d, golden);
    }
}
