package dev.hydra.config;

import dev.hydra.HydraException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The seven matrix classes of docs/spec.md §2, by their {@code matrix_mixer_type} key. */
public enum MixerType {
    DENSE("dense"), TOEPLITZ("toeplitz"), VANDERMONDE("vandermonde"), CAUCHY("cauchy"), LOW_RANK("low_rank"),
    ATTENTION("attention"), QUASISEPARABLE("quasiseparable");

    private final String key;

    MixerType(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static MixerType of(String key, String source) {
        for (MixerType t : values()) if (t.key.equals(key)) return t;
        throw new HydraException(source + ": unknown matrix_mixer_type '" + key + "' (known: "
                + Arrays.stream(values()).map(MixerType::key).collect(Collectors.joining(", ")) + ")");
    }

    /** Whether silu follows the conv on every channel, or on v only (docs/spec.md §2.3, column "activation"). */
    boolean siluOnAll(boolean dataDependent) {
        return !dataDependent || this == TOEPLITZ || this == LOW_RANK || this == QUASISEPARABLE;
    }

    /** Whether the layer adds the mixer's input v after the scaled mixing (every type but quasiseparable). */
    public boolean hasResidual() {
        return this != QUASISEPARABLE;
    }

    @Override
    public String toString() {
        return key;
    }
}
