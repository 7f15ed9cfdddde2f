package dev.hydra.cli;

import dev.hydra.bert.HydraBert;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code hydra fill-mask}: the likeliest tokens at each [MASK] of a text, from the MLM head. */
@Command(name = "fill-mask", mixinStandardHelpOptions = true,
        description = "Predict the tokens at each [MASK] (or <mask>) of a text; prints position, token and probability, best first.")
final class FillMaskCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin BertModelOptions model;

    @Option(names = "--text", required = true, description = "A text with one or more mask tokens.")
    String text;

    @Option(names = "--top-k", defaultValue = "5", description = "Candidates per mask (default: ${DEFAULT-VALUE}).")
    int topK;

    @Override
    public Integer call() {
        if (topK < 1) throw new dev.hydra.HydraException("--top-k must be positive, got " + topK);
        try (HydraBert m = model.load(false)) {
            StringBuilder out = new StringBuilder();
            for (List<HydraBert.Prediction> mask : m.fillMask(text, topK))
                for (HydraBert.Prediction p : mask)
                    out.append(p.position()).append('\t').append(p.token()).append('\t').append(String.format("%.6f", p.score())).append('\n');
            spec.commandLine().getOut().print(out);
        }
        return 0;
    }
}
