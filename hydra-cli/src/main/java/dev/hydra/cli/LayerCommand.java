package dev.hydra.cli;

import dev.hydra.backend.Backend;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.layer.Layers;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.runtime.Backends;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code hydra layer}: runs one layer on a file's input and writes its output (and, optionally, its stages). */
@Command(name = "layer", mixinStandardHelpOptions = true,
        description = {"Runs a Hydra layer on a file's input and writes its output.",
                "Reads tensor 'input' (B, L, d_model), any float dtype, from X and writes tensor 'output' "
                        + "(B, L, d_model) to Y: float32 for fp32, float64 for fp64."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:bad input (the file, tensor or key is named on stderr: hydra: ...)", "2:bad usage"},
        footer = {"%nExample (a golden file holds both the weights, under 'param.', and the input):",
                "  hydra layer --weights hydra_p1.safetensors --prefix param. \\",
                "              --input hydra_p1.safetensors --output y.safetensors \\",
                "              --precision fp64 --stages"})
final class LayerCommand implements Callable<Integer> {

    /** The --precision values. */
    enum PrecisionName {
        fp32(Precision.FP32), fp64(Precision.FP64), bf16(Precision.BF16);

        final Precision<?> precision;

        PrecisionName(Precision<?> precision) {
            this.precision = precision;
        }
    }

    @Mixin
    LayerOptions layer;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64|bf16",
            description = "fp32: the engine on --backend; bf16: the engine with bf16 matrix products, gpu only; "
                    + "fp64: the reference (default: ${DEFAULT-VALUE}).")
    PrecisionName precision;

    @Option(names = "--stages", description = "Also write every intermediate tensor (stage.conv_silu, stage.dt_forward, ..., stage.mix, stage.normed) as (B, L, width).")
    boolean stages;

    @Option(names = "--backend", defaultValue = "cpu", paramLabel = "cpu|scalar|gpu|auto",
            description = "The fp32 engine (default: ${DEFAULT-VALUE}); fp64 ignores it.")
    String backend;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        layer.refuseExistingOutput();
        boolean fp64 = precision == PrecisionName.fp64;
        try (SafeTensors w = SafeTensors.open(layer.weights);
             Backend be = fp64 ? null : Backends.named(backend, precision.precision);
             SequenceLayer l = layer.load(w, precision.precision, be)) {
            LayerOptions.Input in = layer.readInput(l.dModel());
            Map<String, double[]> tensors = new LinkedHashMap<>();
            if (stages) tensors.putAll(l.forwardStages(in.values(), in.batch(), in.len()));
            else tensors.put("output", l.forward(in.values(), in.batch(), in.len()));
            SafeTensorsWriter out = new SafeTensorsWriter().metadata("precision", precision.name());
            if (be != null) out.metadata("backend", be.name());
            long rows = (long) in.batch() * in.len();
            for (Map.Entry<String, double[]> t : tensors.entrySet()) {
                long width = t.getValue().length / rows;
                if (fp64) out.put(t.getKey(), t.getValue(), in.batch(), in.len(), width);
                else out.put(t.getKey(), Layers.narrow(t.getValue()), in.batch(), in.len(), width);
            }
            out.write(layer.output, layer.force);
            spec.commandLine().getOut().printf("%s: output (%d, %d, %d) %s%s%s%n", layer.output, in.batch(), in.len(), l.dModel(),
                    fp64 ? "float64" : "float32", stages ? " and " + (tensors.size() - 1) + " stage tensors" : "",
                    be == null ? "" : ", backend " + be.name());
        }
        return 0;
    }
}
