package dev.hydra.cli;

import dev.hydra.HydraException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The CLI's output-file rules: never replace an existing file without --force, and write atomically. */
public final class OutputFiles {
    private OutputFiles() {}

    /** Fails early, before any work, when {@code target} exists and {@code force} is off. */
    public static void refuseExisting(Path target, boolean force) {
        if (!force && Files.exists(target))
            throw new HydraException(target + ": already exists (use --force to overwrite)");
    }

    /**
     * Writes {@code bytes} to a temporary file beside {@code target} and renames it over the target, as
     * {@link dev.hydra.io.SafeTensorsWriter#write} does for safetensors files.
     */
    public static void write(Path target, byte[] bytes, boolean force) {
        refuseExisting(target, force);
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new HydraException(target + ": cannot write (" + e.getMessage() + ")");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // already moved, or unreachable: nothing more to do
                }
            }
        }
    }
}
