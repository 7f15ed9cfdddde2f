package dev.hydra.backend;

import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedDeque;

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

    /** The idle workspaces of one backend, kept for later calls (at most two); safe to share between threads. */
    public static final class Pool implements AutoCloseable {
        private static final int IDLE = 2;
        private final Backend be;
        private final ConcurrentLinkedDeque<Workspace> idle = new ConcurrentLinkedDeque<>();

        public Pool(Backend backend) {
            this.be = backend;
        }

        /** An idle workspace, or a new one. */
        public Workspace take() {
            Workspace ws = idle.poll();
            return ws != null ? ws : new Workspace(be);
        }

        /** A workspace back after its call: kept while fewer than two are idle, else closed. */
        public void give(Workspace ws) {
            if (idle.size() < IDLE) idle.push(ws);
            else ws.close();
        }

        /** An idle workspace, left in the pool (its buffers would be reused by the next call); null when none. */
        public Workspace peek() {
            return idle.peek();
        }

        @Override
        public void close() {
            for (Workspace ws; (ws = idle.poll()) != null; ) ws.close();
        }
    }
}
