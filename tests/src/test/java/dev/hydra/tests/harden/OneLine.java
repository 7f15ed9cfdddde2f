package dev.hydra.tests.harden;

import dev.hydra.HydraException;

import static org.assertj.core.api.Assertions.assertThat;

/** The error contract every hardening test checks: a {@link HydraException} whose message is one line. */
final class OneLine {
    private OneLine() {}

    static void check(HydraException e) {
        assertThat(e.getMessage()).as("message of %s", e).isNotBlank()
                .doesNotContainPattern("[\\p{Cntrl}\u2028\u2029]");
    }
}
