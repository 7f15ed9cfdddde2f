package dev.hydra.bert;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.io.AtomicFiles;
import dev.hydra.io.DType;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.io.TensorSource;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * {@code hydra convert}: any checkpoint the loader reads, written as a plain model folder: {@code model.safetensors}
 * (the state dict under the names transformers saves, without Composer's {@code model.} level; float64 tensors stay
 * float64, every other float type becomes float32), {@code config.json} (the config as read) and the tokenizer files.
 * The model is loaded first, so a checkpoint that does not load is not converted. The folder appears whole or not
 * at all (written beside the target, then renamed); an existing target is replaced only when asked.
 */
public final class ModelConversion {
    private static final SecureRandom RANDOM = new SecureRandom();

    private ModelConversion() {}

    public static void convert(ModelFiles files, Path out, boolean force) {
        AtomicFiles.refuseExisting(out, force);
        Path target = out.toAbsolutePath();
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
        try {
            Files.createDirectories(target.getParent());
            Files.createDirectory(tmp);
            writeFolder(files, tmp);
            replace(tmp, target);
        } catch (IOException e) {
            throw new HydraException(out + ": cannot write (" + e.getMessage() + ")");
        } finally {
            deleteTree(tmp);
        }
    }

    private static void writeFolder(ModelFiles files, Path dir) throws IOException {
        try (CheckpointFile checkpoint = CheckpointFile.open(files.weights())) {
            ObjectNode configJson = HydraBert.configJson(files, checkpoint);
            BertConfig config = BertConfig.fromJson(configJson, HydraBert.configSource(files));
            TensorSource src = checkpoint.stateDict();
            CheckpointLayout layout = CheckpointLayout.of(src);
            HydraBert.Options check = HydraBert.Options.defaults();
            layout.load(config, src, check.precision(), check.backend()).close();
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
            for (String name : src.names().stream().sorted().toList()) {
                if (CheckpointLayout.UNREAD_BUFFERS.contains(name.substring(layout.encoderPrefix().length()))) continue;
                long[] shape = src.info(name).shape();
                if (src.info(name).dtype() == DType.F64) w.put(layout.savedName(name), src.doubles(name), shape);
                else w.put(layout.savedName(name), src.floats(name), shape);
            }
            w.write(dir.resolve("model.safetensors"), false);
            Files.writeString(dir.resolve("config.json"), configJson.toPrettyString() + "\n");
        }
        for (Path p : new Path[] {files.tokenizerJson(), files.vocab(), files.tokenizerConfig()})
            if (p != null) Files.copy(p, dir.resolve(p.getFileName()));
    }

    /** Renames {@code tmp} to {@code target}, moving an existing target aside first and deleting it after. */
    private static void replace(Path tmp, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            old = target.resolveSibling("." + target.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".old");
            move(target, old);
        }
        try {
            move(tmp, target);
        } catch (IOException e) {
            if (old != null) move(old, target);
            throw e;
        }
        if (old != null) deleteTree(old);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) return;
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort: a leftover temporary folder is named after the target and can be removed by hand
        }
    }
}
