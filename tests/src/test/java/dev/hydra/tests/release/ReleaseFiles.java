package dev.hydra.tests.release;

import dev.hydra.bert.Tokens;
import dev.hydra.io.SafeTensors;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

/** The release's model files copied into the test resources (checkpoints/, see its README). */
final class ReleaseFiles {
    /** A checkpoint file of a case: its folder (holding config.json and golden.safetensors) and file name. */
    record Checkpoint(String folder, String file) {
        Path path() {
            return dir(folder).resolve(file);
        }

        boolean isMaskedLm() {
            return folder.equals("ckpt_pub_mlm");
        }

        @Override
        public String toString() {
            return folder + "/" + file;
        }
    }

    /** Every file of every public case. */
    static final List<Checkpoint> ALL = List.of(
            new Checkpoint("ckpt_pub_lowrank", "model.safetensors"), new Checkpoint("ckpt_pub_lowrank", "legacy-format.bin"),
            new Checkpoint("ckpt_pub_mlm", "pytorch_model.bin"), new Checkpoint("ckpt_pub_mlm", "composer-checkpoint.pt"));

    private ReleaseFiles() {}

    static Path dir(String folder) {
        try {
            return Path.of(ReleaseFiles.class.getResource("/checkpoints/" + folder).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("checkpoint folder missing from test resources: " + folder);
        }
    }

    static Path golden(String folder) {
        return dir(folder).resolve("golden.safetensors");
    }

    static Tokens goldenTokens(String folder) {
        try (SafeTensors g = SafeTensors.open(golden(folder))) {
            long[] shape = g.info("input_ids").shape();
            return Tokens.ofLongs((int) shape[0], (int) shape[1], g.longs("input_ids"), g.longs("token_type_ids"), g.longs("attention_mask"));
        }
    }

    static double[] golden(String folder, String tensor) {
        try (SafeTensors g = SafeTensors.open(golden(folder))) {
            return g.contains(tensor) ? g.doubles(tensor) : null;
        }
    }
}
