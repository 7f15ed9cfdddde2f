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

}
