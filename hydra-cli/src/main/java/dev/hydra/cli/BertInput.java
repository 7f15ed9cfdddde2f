package dev.hydra.cli;

import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.bert.Tokens;
import dev.hydra.io.SafeTensors;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/** Where the sequences come from: texts on the command line, a file of texts (one per line), or token ids. */
final class BertInput {
    @Option(names = "--text", paramLabel = "TEXT", description = "A text (repeat for several).")
    List<String> texts;

    @Option(names = "--input-file", paramLabel = "FILE", description = "A UTF-8 file of texts, one per non-empty line.")
    Path inputFile;

    @Option(names = "--input-ids", paramLabel = "FILE",
            description = "A safetensors file of int64 (B, L) input_ids, attention_mask and, optionally, token_type_ids.")
    Path inputIds;

    private int idsLength;

    /** Texts, or null when the input is token ids. */
    List<String> texts() {
        if (inputIds != null) return null;
        if (texts != null) return texts;
        try {
            return Files.readAllLines(inputFile).stream().filter(s -> !s.isBlank()).toList();
        } catch (NoSuchFileException e) {
            throw new HydraException(inputFile + ": no such file");
        } catch (IOException e) {
            throw new HydraException(inputFile + ": cannot read (" + e.getMessage() + ")");
        }
    }

    boolean isIds() {
        return inputIds != null;
    }

    /** The outputs, one per sequence (cut to its tokens), reporting progress on stderr when asked. */
    List<Output> run(HydraBert model, boolean showProgress, java.io.PrintWriter err) {
        if (isIds()) {
            Tokens t = readIds();
            try (Progress p = Progress.of("encode", t.batch(), showProgress, err)) {
                return model.encode(t, p);
            }
        }
        List<String> all = texts();
        if (all.isEmpty()) throw new HydraException(inputFile + ": holds no texts");
        try (Progress p = Progress.of("encode", all.size(), showProgress, err)) {
            return model.encode(model.tokenize(all), p);
        }
    }

    /** The padded length L of the token-id file, once read. */
    int idsLength() {
        return idsLength;
    }

    private Tokens readIds() {
        try (SafeTensors st = SafeTensors.open(inputIds)) {
            for (String name : new String[] {"input_ids", "attention_mask"})
                if (!st.contains(name)) throw new HydraException(inputIds + ": missing tensor '" + name + "'");
            long[] shape = st.info("input_ids").shape();
            if (shape.length != 2) throw new HydraException(inputIds + ": input_ids has shape " + st.info("input_ids").shapeString() + ", expected (B, L)");
            for (String name : new String[] {"attention_mask", "token_type_ids"})
                if (st.contains(name) && !st.info(name).hasShape(shape))
                    throw new HydraException(inputIds + ": " + name + " has shape " + st.info(name).shapeString() + ", expected " + st.info("input_ids").shapeString());
            idsLength = (int) shape[1];
            long[] ids = st.longs("input_ids");
            long[] types = st.contains("token_type_ids") ? st.longs("token_type_ids") : new long[ids.length];
            return Tokens.ofLongs((int) shape[0], (int) shape[1], ids, types, st.longs("attention_mask"));
        }
    }
}
