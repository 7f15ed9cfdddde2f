package dev.hydra.kernels;

import dev.hydra.config.JvmProperties;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * A fixed set of daemon threads that run the tasks 0..n-1 of one kernel call, the calling thread
 * working beside them. Which thread runs a task never changes what it computes (each task owns
 * fixed output elements), so results are identical for any thread count. One pool per thread
 * count, shared by every backend of that count; a call that finds the pool busy (another thread's
 * call) runs its tasks itself rather than wait. Threads out of work poll briefly before they sleep
 * ({@link #SPIN_MICROS_PROPERTY}). Both tuning properties are read when a pool starts; a value that is not a
 * whole number in range stops it with a one-line error.
 */
final class WorkerPool {
    private static final ConcurrentHashMap<Integer, WorkerPool> SHARED = new ConcurrentHashMap<>();

    private final int threads;
    /** Calls of fewer multiply-adds run on the calling thread ({@link #INLINE_WORK_PROPERTY}). */
    private final long inlineWork;
    /** How long an idle worker, or a caller whose tasks are done, polls before it sleeps (0 when the pool has more threads than the machine has processors). */
    private final long spinNanos;
    private final ReentrantLock busy = new ReentrantLock();
    private Job job;
    private volatile long generation;

    private WorkerPool(int threads) {
        this.threads = threads;
        this.inlineWork = JvmProperties.wholeNumber(INLINE_WORK_PROPERTY, 1 << 18, 0, Long.MAX_VALUE);
        long spinMicros = JvmProperties.wholeNumber(SPIN_MICROS_PROPERTY, 500, 0, 1_000_000);
        this.spinNanos = threads <= Runtime.getRuntime().availableProcessors() ? spinMicros * 1000 : 0;
        for (int i = 1; i < threads; i++) {
            Thread t = new Thread(this::workLoop, "hydra-vector-" + threads + "-" + i);
            t.setDaemon(true);
            t.start();
        }
    }

    static WorkerPool of(int threads) {
        return SHARED.computeIfAbsent(threads, WorkerPool::new);
    }

    int threads() {
        return threads;
    }

    /**
     * Below this many multiply-adds (or element operations; default 2^18) a call runs on the calling thread
     * alone: waking the workers costs more than they would save (measured: one short text through a 4 x 256
     * HydraBERT ran at 1,023 texts/s on 2 threads and 1,231 on one). {@code -Dhydra.vector.inlineWork=0} sends
     * every call through the workers (the kernel tests at each vector width do).
     */
    static final String INLINE_WORK_PROPERTY = "hydra.vector.inlineWork";

    /**
     * Microseconds a worker that has run out of tasks polls for the next call before it sleeps, and a caller
     * for the last task before it waits. A sleeping thread needs a wake-up from the kernel, which in a virtual
     * machine takes up to a few hundred microseconds: on the 16-core Intel CPU of the GPU machine at (1, 65536)
     * each thread lost 27-50 ms of a 550-700 ms forward pass waiting to start its part of a call, most of them
     * in the scan's calls (39 per direction then, 27 now); 4.5-11.5 ms when polling 500 microseconds, 15 ms
     * when polling 100 (a thread starts polling when it runs out of tasks, before the call ends). Default 500;
     * {@code -Dhydra.vector.spinMicros=0} always sleeps.
     */
    static final String SPIN_MICROS_PROPERTY = "hydra.vector.spinMicros";

    /**
     * Runs {@code body} for every index in [0, n), a call of about {@code work} multiply-adds in all, and
     * returns when all are done; rethrows a task's failure.
     */
    void forEach(int n, long work, IntConsumer body) {
        if (threads == 1 || n <= 1 || work < inlineWork || !busy.tryLock()) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        try {
            Job j = new Job(body, n);
            synchronized (this) {
                job = j;
                generation++;
                notifyAll();
            }
            j.work();
            j.awaitDone(spinNanos);
            synchronized (this) {
                job = null;
            }
            if (j.failure != null) {
                if (j.failure instanceof RuntimeException re) throw re;
                if (j.failure instanceof Error e) throw e;
                throw new IllegalStateException(j.failure);
            }
        } finally {
            busy.unlock();
        }
    }

    private void workLoop() {
        long seen = 0;
        while (true) {
            long last = seen;
            poll(() -> generation == last, spinNanos);
            Job j;
            synchronized (this) {
                while (generation == seen) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                seen = generation;
                j = job;
            }
            if (j != null) j.work();
        }
    }

    /** Polls {@code waiting} for up to {@code nanos} while it holds, giving the processor to any other thread that is ready to run. */
    private static void poll(BooleanSupplier waiting, long nanos) {
        for (long until = System.nanoTime() + nanos; waiting.getAsBoolean() && System.nanoTime() < until; ) {
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    private static final class Job {
        final IntConsumer body;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        volatile int pending;
        volatile Throwable failure;

        Job(IntConsumer body, int n) {
            this.body = body;
            this.n = n;
            this.pending = n;
        }

        void work() {
            int completed = 0;
            for (int i; (i = next.getAndIncrement()) < n; completed++) {
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    failure = t;
                }
            }
            if (completed > 0) {
                synchronized (this) {
                    pending -= completed;
                    if (pending == 0) notifyAll();
                }
            }
        }

        void awaitDone(long spinNanos) {
            poll(() -> pending > 0, spinNanos);
            if (pending > 0) sleepUntilDone();
        }

        private synchronized void sleepUntilDone() {
            boolean interrupted = false;
            while (pending > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }
    }
}
