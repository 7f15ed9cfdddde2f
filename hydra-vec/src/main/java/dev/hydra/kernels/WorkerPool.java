package dev.hydra.kernels;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A fixed set of daemon threads that run the tasks 0..n-1 of one kernel call, the calling thread
 * working beside them. Which thread runs a task never changes what it computes (each task owns
 * fixed output elements), so results are identical for any thread count. One pool per thread
 * count, shared by every backend of that count; a call that finds the pool busy (another thread's
 * call) runs its tasks itself rather than wait.
 */
final class WorkerPool {
    private static final ConcurrentHashMap<Integer, WorkerPool> SHARED = new ConcurrentHashMap<>();

    private final int threads;
    private final ReentrantLock busy = new ReentrantLock();
    private Job job;
    private long generation;

    private WorkerPool(int threads) {
        this.threads = threads;
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
     * Below this many multiply-adds (or element operations) a call runs on the calling thread alone: waking
     * the workers costs more than they would save (measured: one short text through a 4 x 256 HydraBERT ran
     * at 1,023 texts/s on 2 threads and 1,231 on one). {@code -Dhydra.vector.inlineWork=0} sends every call
     * through the workers (the kernel tests at each vector width do).
     */
    static final long INLINE_WORK = Long.getLong("hydra.vector.inlineWork", 1 << 18);

    /**
     * Runs {@code body} for every index in [0, n), a call of about {@code work} multiply-adds in all, and
     * returns when all are done; rethrows a task's failure.
     */
    void forEach(int n, long work, IntConsumer body) {
        if (threads == 1 || n <= 1 || work < INLINE_WORK || !busy.tryLock()) {
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
            j.awaitDone();
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

    private static final class Job {
        final IntConsumer body;
        final int n;
        final AtomicInteger next = new AtomicInteger();
        int pending;
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

        synchronized void awaitDone() {
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
