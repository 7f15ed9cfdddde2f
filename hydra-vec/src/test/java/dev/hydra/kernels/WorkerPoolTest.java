package dev.hydra.kernels;

import dev.hydra.HydraException;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The pool's hand-offs: every task once, failures rethrown, and workers that poll only briefly before they sleep. */
class WorkerPoolTest {
    private static final int THREADS = 2;

    @Test
    void everyTaskRunsOnceInCallsThatFollowEachOtherClosely() {
        WorkerPool pool = WorkerPool.of(THREADS);
        for (int call = 0; call < 2000; call++) {
            int n = 1 + call % 37;
            AtomicIntegerArray runs = new AtomicIntegerArray(n);
            pool.forEach(n, Long.MAX_VALUE, runs::incrementAndGet);
            for (int i = 0; i < n; i++) assertThat(runs.get(i)).as("call %d, task %d", call, i).isEqualTo(1);
        }
    }

    @Test
    void aTaskFailureReachesTheCallerAndThePoolGoesOn() {
        WorkerPool pool = WorkerPool.of(THREADS);
        assertThatThrownBy(() -> pool.forEach(8, Long.MAX_VALUE, i -> {
            if (i == 5) throw new IllegalArgumentException("task 5");
        })).isInstanceOf(IllegalArgumentException.class).hasMessage("task 5");
        AtomicIntegerArray runs = new AtomicIntegerArray(8);
        pool.forEach(8, Long.MAX_VALUE, runs::incrementAndGet);
        for (int i = 0; i < 8; i++) assertThat(runs.get(i)).isEqualTo(1);
    }

    @Test
    void aPoolDoesNotStartWithATuningPropertyItCannotReadAndStartsOnceItCan() {
        int threads = 5;
        for (String property : List.of(WorkerPool.SPIN_MICROS_PROPERTY, WorkerPool.INLINE_WORK_PROPERTY)) {
            System.setProperty(property, "fast");
            try {
                assertThatThrownBy(() -> WorkerPool.of(threads)).isInstanceOf(HydraException.class)
                        .hasMessageStartingWith("-D" + property + "=fast: must be a whole number from 0 to ");
                assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("hydra-vector-" + threads + "-"));
            } finally {
                System.clearProperty(property);
            }
        }
        AtomicIntegerArray runs = new AtomicIntegerArray(16);
        WorkerPool.of(threads).forEach(16, Long.MAX_VALUE, runs::incrementAndGet);
        for (int i = 0; i < 16; i++) assertThat(runs.get(i)).isEqualTo(1);
    }

    /** A worker that polled for ever would use about the whole idle second; polling is bounded by hydra.vector.spinMicros per call. */
    @Test
    void idleWorkersSleepAfterPolling() throws InterruptedException {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        assumeTrue(mx.isThreadCpuTimeSupported(), "per-thread CPU time is not measurable here");
        mx.setThreadCpuTimeEnabled(true);
        WorkerPool pool = WorkerPool.of(THREADS);
        pool.forEach(64, Long.MAX_VALUE, i -> { });
        List<Thread> workers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("hydra-vector-" + THREADS + "-")).toList();
        assertThat(workers).hasSize(THREADS - 1);
        Thread.sleep(50);
        long before = cpuNanos(mx, workers);
        Thread.sleep(1000);
        long used = cpuNanos(mx, workers) - before;
        assertThat(used).as("CPU time of idle workers over one second, ns").isLessThan(100_000_000L);
    }

    private static long cpuNanos(ThreadMXBean mx, List<Thread> threads) {
        long sum = 0;
        for (Thread t : threads) sum += mx.getThreadCpuTime(t.threadId());
        return sum;
    }
}
