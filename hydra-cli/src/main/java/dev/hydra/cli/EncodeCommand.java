package dev.hydra.cli;

import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.weights.Precision;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code hydra encode}: sequence and pooled outputs of a Hydra BERT for texts or token ids. */
@Command(name = "encode", mixinStandardHelpOptions = true,
        description = "Run a Hydra BERT encoder; writes sequence_output (N, L, hidden) with zeros at padding, "
                + "pooled_output (N, hidden) and attention_mask (N, L) to a safetensors file.")
final class EncodeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin BertModelOptions model;

    @ArgGroup(exclusive = true, multiplicity = "1") BertInput input;

    @Option(names = "--pool", defaultValue = "cls", paramLabel = "cls|mean",
            description = "pooled_output: cls = the model's pooler, tanh(dense(h[CLS])); mean = the mean of the token states (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file.")
    boolean force;

    @Override
    public Integer call() {
        HydraBert.Pool p = BertModelOptions.pool(pool);
        try (HydraBert m = model.load(input.isIds())) {
            List<Output> outs = input.run(m, model.progress, spec.commandLine().getErr());
            int n = outs.size(), d = m.model().config().hiddenSize();
            int width = input.isIds() ? input.idsLength() : outs.stream().mapToInt(Output::len).max().orElse(1);
            double[] seq = new double[n * width * d], pooled = new double[n * d];
            long[] mask = new long[n * width];
            double[][] pooledRows = HydraBert.pool(outs, p);
            for (int i = 0; i < n; i++) {
                Output o = outs.get(i);
                System.arraycopy(o.sequence(), 0, seq, i * width * d, o.len() * d);
                System.arraycopy(pooledRows[i], 0, pooled, i * d, d);
                java.util.Arrays.fill(mask, i * width, i * width + o.len(), 1);
            }
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("pool", pool).metadata("precision", model.precision);
            if (m.model().precision() == Precision.FP64) {
                w.put("sequence_output", seq, n, width, d).put("pooled_output", pooled, n, d);
            } else {
                w.put("sequence_output", dev.hydra.layer.Layers.narrow(seq), n, width, d).put("pooled_output", dev.hydra.layer.Layers.narrow(pooled), n, d);
            }
            w.put("attention_mask", mask, n, width).write(output, force);
        }
        return 0;
    }
}
