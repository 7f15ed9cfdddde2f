package dev.hydra.cli;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.config.JsonKeys;
import dev.hydra.forward.Inputs;
import dev.hydra.io.AtomicFiles;
import dev.hydra.io.SafeTensors;
import dev.hydra.layer.Layers;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Set;

/** The options of {@code layer} and {@code matrix} that name a layer, its input and the output file. */
final class LayerOptions {
    /** Keys the golden files' config metadata carries beside the layer's own; ignored in metadata only. */
    static final Set<String> METADATA_ANNOTATIONS = Set.of("batch", "seqlen", "triton_fp32_max_rel_err");

    @Option(names = "--weights", required = true, paramLabel = "W.safetensors", description = "The layer's parameters (state-dict names).")
    Path weights;

    @Option(names = "--prefix", defaultValue = "", paramLabel = "P",
            description = "State-dict prefix of the layer's parameters in W, e.g. 'param.' (default: none).")
    String prefix;

    @Option(names = "--config", paramLabel = "C.json",
            description = "The layer's JSON config (strict: unknown keys are an error). Default: W's 'config' metadata.")
    Path config;

    @Option(names = "--input", required = true, paramLabel = "X.safetensors", description = "Holds tensor 'input' (B, L, d_model), any float dtype.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "Y.safetensors", description = "The file to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    /** A layer input (B, L, d_model), as doubles. */
    record Input(double[] values, int batch, int len) {}

    /** Loads the layer from {@code w} with the config of {@link #config}; {@code backend} is unused in fp64. */
    SequenceLayer load(SafeTensors w, Precision<?> precision, Backend backend) {
        if (config != null) return Layers.load(JsonKeys.readObject(config), config.toString(), Set.of(), w, prefix, precision, backend);
        if (!w.metadata().containsKey("config"))
            throw new HydraException(weights + ": no 'config' metadata; give the layer's config with --config");
        return Layers.load(w.metadataJson("config"), weights + " (metadata 'config')", METADATA_ANNOTATIONS, w, prefix, precision, backend);
    }

    /** Tensor {@code input} of the input file, checked to be (B, L, dModel) and finite. */
    Input readInput(int dModel) {
        try (SafeTensors x = SafeTensors.open(input)) {
            String what = input + ": tensor 'input'";
            long[] shape = x.info("input").shape();
            if (shape.length != 3 || shape[2] != dModel)
                throw new HydraException(what + " has shape " + x.info("input").shapeString()
                        + ", expected (B, L, " + dModel + ") for this layer's d_model");
            double[] u = x.doubles("input");
            int batch = (int) shape[0], len = (int) shape[1];
            Inputs.checkShape(u.length, batch, len, dModel, what);
            Inputs.checkFinite(u, len, dModel, what);
            return new Input(u, batch, len);
        }
    }

    void refuseExistingOutput() {
        AtomicFiles.refuseExisting(output, force);
    }
}
