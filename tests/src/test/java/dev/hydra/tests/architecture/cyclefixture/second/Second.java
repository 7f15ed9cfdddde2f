package dev.hydra.tests.architecture.cyclefixture.second;

import dev.hydra.tests.architecture.cyclefixture.first.First;

/** The other half of the deliberate package cycle. */
public final class Second {
    public static int next(int n) {
        return n <= 0 ? 0 : First.next(n - 1);
    }
}
