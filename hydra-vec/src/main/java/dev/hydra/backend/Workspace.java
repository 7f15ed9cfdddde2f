package dev.hydra.backend;

import java.util.Arrays;

/**
 * An activation arena on one backend: numbered slots, each a buffer that grows to the largest size asked
 * of it and is then reused. A whole model call owns one, and every layer of the call takes its
 * activations from it (the slot numbers and shapes are each layer's, documented where it declares them),
 * so that a model of n layers holds one layer's activations, not n. Layers use the slots below
 * {@link #FIRST_MODEL_SLOT}, the model around them the slots from it. Not thread-safe: one call at a time.
 */
public final class Workspace implements AutoCloseable {
    public static final int FIRST_MODEL_SLOT = 16;
    private final Backend be;
    private Buf[] slots = new Buf[0];

    public Workspace(Backend backend) {
        this.be = backend;
    }

    public Backend backend() {
        return be;
    }

    /** Slot {@code slot}, holding at least {@code floats} floats; its contents are whatever the last user left. */
    public Buf get(int slot, long floats) {
        if (slot >= slots.length) slots = Arrays.copyOf(slots, slot + 1);
        Buf b = slots[slot];
        if (b == null || b.size() < floats) {
            if (b != null) b.close();
            slots[slot] = b = be.allocate(floats);
        }
        return b;
    }

    /** Floats held by all slots. */
    public long floats() {
        long n = 0;
        for (Buf b : slots) if (b != null) n += b.size();
        return n;
    }

    @Override
    public void close() {
        for (Buf b : slots) if (b != null) b.close();
        slots = new Buf[0];
    }
}
