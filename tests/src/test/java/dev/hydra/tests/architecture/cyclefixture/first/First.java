package dev.hydra.tests.architecture.cyclefixture.first;

import dev.hydra.tests.architecture.cyclefixture.second.Second;

/** Half of a deliberate package cycle: proves that {@code PackageCyclesTest}'s rule can fail. */
public final class First {
    public static int next(int n) {
        return n <= 0 ? 0 : Second.next(n - 1);
    }
}
