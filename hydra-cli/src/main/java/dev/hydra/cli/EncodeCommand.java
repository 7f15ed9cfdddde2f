package dev.hydra.cli;

import dev.hydra.HydraException;
import dev.hydra.bert.BertModel;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.io.AtomicFiles;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.forward.Inputs;
import dev.hydra.layer.Layers;
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
                + "pooled_output (N, hidden) (absent for a model without a pooler unless --pool mean), logits of the model's head "
                + "(masked LM: (N, L, vocab); classifier: (N, num_labels)) and attention_mask (N, L) to a safetensors file.")
final class EncodeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin BertModelOptions model;

    @ArgGroup(exclusive = true, multiplicity = "1") BertInput input;

    @Option(names = "--pool", paramLabel = "cls|mean",
            description = "pooled_output: cls = the model's pooler, tanh(dense(h[CLS])) (the default when the model has one); "
                    + "mean = the mean of the token states. Without --pool, a model without a pooler (masked LM) writes no pooled_output.")
    String pool;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file.")
    boolean force;

    @Override
    public Integer call() {
        AtomicFiles.refuseExisting(output, force);
        HydraBert.Pool p = BertModelOptions.pool(pool);
        try (HydraBert m = model.load(input.isIds())) {
            BertModel bert = m.model();
            if (p == HydraBert.Pool.CLS && !bert.hasPooler())
                throw new HydraException("--pool cls: the model has no pooler (a masked-LM model), so there is no pooled output; use --pool mean");
            if (p == null && bert.hasPooler()) p = HydraBert.Pool.CLS;
            List<Output> outs = input.run(m, model.progress, spec.commandLine().getErr());
            int n = outs.size(), d = bert.config().hiddenSize();
            int width = input.isIds() ? input.idsLength() : outs.stream().mapToInt(Output::len).max().orElse(1);
            double[] seq = new double[n * width * d];
            long[] mask = new long[n * width];
            for (int i = 0; i < n; i++) {
                Output o = outs.get(i);
                System.arraycopy(o.sequence(), 0, seq, i * width * d, o.len() * d);
                java.util.Arrays.fill(mask, i * width, i * width + o.len(), 1);
            }
            boolean fp64 = bert.precision() == Precision.FP64;
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("precision", model.precision);
            put(w, "sequence_output", seq, fp64, n, width, d);
            if (p != null) {
                w.metadata("pool", pool == null ? "cls" : pool);
                put(w, "pooled_output", flatten(HydraBert.pool(outs, p)), fp64, n, d);
            }
            if (bert.hasMlmHead()) {
                int vocab = bert.config().vocabSize();
                Inputs.checkActivations(16L * n * width * vocab, (long) n * width * vocab, n, width);
                // padded positions get the head of a zero state, as in the release's (B, L, vocab) logits
                put(w, "logits", bert.mlmLogits(seq, n * width), fp64, n, width, vocab);
            }
            if (bert.numLabels() > 0)
                put(w, bert.hasMlmHead() ? "classifier_logits" : "logits",
                        bert.classifierLogits(flatten(HydraBert.pool(outs, HydraBert.Pool.CLS)), n), fp64, n, bert.numLabels());
            w.put("attention_mask", mask, n, width).write(output, force);
        }
        return 0;
    }

    private static void put(SafeTensorsWriter w, String name, double[] values, boolean fp64, long... shape) {
        if (fp64) w.put(name, values, shape);
        else w.put(name, Layers.narrow(values), shape);
    }

    private static double[] flatten(double[][] rows) {
        int d = rows.length == 0 ? 0 : rows[0].length;
        double[] flat = new double[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, flat, i * d, d);
        return flat;
    }
}
