package dev.hydra.backend;

/** A {@link Buf} on the Java heap, used by the CPU backends. */
public record HeapBuf(float[] data) implements Buf {
    @Override
    public long size() {
        return data.length;
    }

    /** The heap array of a buffer that a CPU backend made; anything else is a programming error. */
    public static float[] of(Buf b) {
        if (b == null) return null;
        if (b instanceof HeapBuf h) return h.data;
        throw new IllegalArgumentException("buffer of another backend passed to a CPU backend: " + b.getClass().getName());
    }
}
