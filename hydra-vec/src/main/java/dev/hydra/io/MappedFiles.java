package dev.hydra.io;

import dev.hydra.HydraException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file mapped read-only into a shared arena and handed to a reader, or an in-memory image copied into
 * one: the arena lives as long as what the reader returns (which closes it), and is closed here when the
 * reader fails. Every I/O problem is a one-line {@link HydraException} naming the file.
 */
public final class MappedFiles {
    private MappedFiles() {}

    /** Reads the bytes [0, size) of {@code file}, which lives in {@code arena}; {@code src} names it in messages. */
    @FunctionalInterface
    public interface Reader<T> {
        T read(String src, Arena arena, MemorySegment file, long size);
    }

    public static <T> T map(Path path, Reader<T> reader) {
        String src = path.toString();
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment file = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return reader.read(src, arena, file, size);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new HydraException(src + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new HydraException(src + ": cannot read (" + e.getMessage() + ")");
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** An in-memory image (tests and fuzzers); the bytes are copied. */
    public static <T> T copy(String name, byte[] bytes, Reader<T> reader) {
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(Math.max(1, bytes.length));
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        try {
            return reader.read(name, arena, seg, bytes.length);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }
}
