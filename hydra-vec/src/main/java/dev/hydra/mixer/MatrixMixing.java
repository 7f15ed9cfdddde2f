package dev.hydra.mixer;

/**
 * One matrix class's mixing step (docs/spec.md §2): {@code y = s M v} per batch and head, without the
 * residual, computed two ways that must agree to rounding: the class's structured algorithm, and the
 * materialized matrix {@code s M} (B, H, L, L) applied densely.
 */
interface MatrixMixing {
    /** y (B, L, H*P) by the structured algorithm. */
    double[] mix(MixerOperands o);

    /** s M, (B, H, L, L) row-major. */
    double[] materialize(MixerOperands o);
}
