package dev.hydra.cli;

import dev.hydra.bert.HydraBert;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code hydra classify}: the label of each sequence, from the checkpoint's classification head. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Label texts or token ids with a Hydra BERT sequence classifier; prints one line per sequence: "
                + "label name, its probability, then the probabilities of all labels.")
final class ClassifyCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin BertModelOptions model;

    @ArgGroup(exclusive = true, multiplicity = "1") BertInput input;

    @Override
    public Integer call() {
        try (HydraBert m = model.load(input.isIds())) {
            List<HydraBert.Classification> labels = m.classifyOutputs(input.run(m, model.progress, spec.commandLine().getErr()));
            StringBuilder out = new StringBuilder();
            for (HydraBert.Classification c : labels) {
                out.append(c.name()).append('\t').append(String.format("%.6f", c.probabilities()[c.label()]));
                for (double p : c.probabilities()) out.append('\t').append(String.format("%.6f", p));
                out.append('\n');
            }
            spec.commandLine().getOut().print(out);
        }
        return 0;
    }
}
