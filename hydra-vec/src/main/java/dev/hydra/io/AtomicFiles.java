package dev.hydra.io;

import dev.hydra.HydraException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * Output-file rules: never replace an existing file unless asked, and write atomically (a temporary file
 * beside the target, then a rename), so that a crash never leaves a half-written output.
 */
public final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {}

    /** Fails early, before any work, when {@code target} exists and {@code force} is off. */
    public static void refuseExisting(Path target, boolean force) {
        if (!force && Files.exists(target))
            throw new HydraException(target + ": already exists (use --force to overwrite)");
    }

    /** Writes {@code bytes} to a temporary file beside {@code target} and renames it over the target. */
    public static void write(Path target, byte[] bytes, boolean force) {
        refuseExisting(target, force);
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(abs.getParent());
            // created like any new file (mode from the umask), unlike Files.createTempFile's 0600
            tmp = abs.resolveSibling("." + abs.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
            Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
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
