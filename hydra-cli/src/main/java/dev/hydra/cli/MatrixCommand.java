package dev.hydra.cli;

import dev.hydra.io.SafeTensors;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code hydra matrix}: the layer's mixer as a dense (B, H, L, L) matrix for a given input, in fp64. */
@Command(name = "matrix", mixinStandardHelpOptions = true,
        description = {"Writes the mixer matrix a Hydra layer applies to a file's input.",
                "Materializes, with the fp64 reference, the matrix of the layer's mixing step for tensor 'input' of X "
                        + "and writes tensor 'matrix' (B, H, L, L) float64 to Y: per batch and head, row i mixes "
                        + "positions j; the forward scan lies below the diagonal, the backward scan above it."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:bad input (the file, tensor or key is named on stderr: hydra: ...)", "2:bad usage"},
        footer = {"%nExample:",
                "  hydra matrix --weights hydra_p1.safetensors --prefix param. \\",
                "               --input hydra_p1.safetensors --output m.safetensors"})
final class MatrixCommand implements Callable<Integer> {

    @Mixin
    LayerOptions layer;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        layer.refuseExistingOutput();
        try (SafeTensors w = SafeTensors.open(layer.weights);
             SequenceLayer l = layer.load(w, Precision.FP64, null)) {
            LayerOptions.Input in = layer.readInput(l.dModel());
            double[] m = l.materialize(in.values(), in.batch(), in.len());
            new SafeTensorsWriter().metadata("precision", "fp64")
                    .put("matrix", m, in.batch(), l.heads(), in.len(), in.len())
                    .write(layer.output, layer.force);
            spec.commandLine().getOut().printf("%s: matrix (%d, %d, %d, %d) float64%n", layer.output,
                    in.batch(), l.heads(), in.len(), in.len());
        }
        return 0;
    }
}
