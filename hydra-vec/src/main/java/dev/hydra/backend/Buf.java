package dev.hydra.backend;

/**
 * A flat array of floats owned by one {@link Backend}: heap memory on the CPU, device memory on a GPU.
 * Only the backend that made a buffer may read it. Closing releases device memory (a no-op on the heap).
 */
public interface Buf extends AutoCloseable {
    /** Number of floats. */
    long size();

    @Override
    default void close() {}
}
