package dev.hydra.cli;

import java.io.PrintWriter;
import java.util.function.IntConsumer;

/** A one-line progress bar on the command's stderr ({@code \r}-redrawn), or nothing when not wanted. */
final class Progress implements IntConsumer, AutoCloseable {
    private static final int WIDTH = 30;
    private final String what;
    private final int total;
    private final boolean on;
    private final PrintWriter err;
    private final long start = System.nanoTime();

    private Progress(String what, int total, boolean on, PrintWriter err) {
        this.err = err;
        this.what = what;
        this.total = total;
        this.on = on;
    }

    /** Shown when asked, or when the JVM is attached to a terminal, for more than one item. */
    static Progress of(String what, int total, boolean asked, PrintWriter err) {
        boolean terminal = System.console() != null && System.console().isTerminal();
        return new Progress(what, total, total > 1 && (asked || terminal), err);
    }

    @Override
    public void accept(int done) {
        if (!on) return;
        int filled = (int) ((long) WIDTH * done / total);
        double s = (System.nanoTime() - start) / 1e9;
        err.printf("\r%s [%s%s] %d/%d %.1f/s", what, "=".repeat(filled), " ".repeat(WIDTH - filled), done, total, done / Math.max(s, 1e-9));
        err.flush();
    }

    @Override
    public void close() {
        if (on) err.println();
    }
}
