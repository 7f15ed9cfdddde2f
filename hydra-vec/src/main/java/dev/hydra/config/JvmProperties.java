package dev.hydra.config;

import dev.hydra.HydraException;

/**
 * The engine's tuning switches given as JVM system properties ({@code -Dname=value}), read strictly: a value
 * that is not a whole number in range is a one-line error naming the property, never a silent default.
 */
public final class JvmProperties {
    private JvmProperties() {}

    /** Property {@code name} as a whole number in [min, max]; {@code absent} when it is unset or blank. */
    public static long wholeNumber(String name, long absent, long min, long max) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) return absent;
        try {
            long n = Long.parseLong(value.strip());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw new HydraException("-D" + name + "=" + value + ": must be a whole number from " + min + " to " + max);
    }
}
