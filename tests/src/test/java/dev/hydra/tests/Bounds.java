package dev.hydra.tests;

/**
 * The error bounds of the fp64 golden tests, each within 100x of what the code achieves (max |ours -
 * golden| / max |golden|, measured values beside each; docs/testing.md lists them with the property
 * tests' bounds). Tight enough that a float32 {@code A}, {@code exp} or norm slipping into the fp64
 * reference fails them: those cost 1e-9 to 1e-7.
 */
public final class Bounds {
    private Bounds() {}

    /** Hydra goldens, {@code output}: 5.5e-9, 2.1e-9, 1.1e-8 (hydra_p1, p2, p3). */
    public static final double HYDRA_OUTPUT = 2e-7;
    /** Hydra goldens, {@code mixer_output} (steps 4-6) and {@code mixer_matrix}: at most 1.5e-15 and 1.9e-15. */
    public static final double HYDRA_MIXER = 1e-13;
    /** Hydra goldens, {@code mixer_input} (x after step 2): at most 4.4e-16. */
    public static final double HYDRA_MIXER_INPUT = 1e-14;
    /** hydrabert_pub, {@code sequence_output}: 2.4e-9. */
    public static final double BERT_SEQUENCE = 1e-7;
    /** hydrabert_pub, {@code pooled_output}: 9.4e-9. */
    public static final double BERT_POOLED = 3e-7;

    /**
     * A matrix mixer golden's {@code output}, both paths, by its file name. Measured: toeplitz DD 6.0e-8 and
     * DI 5.0e-9 (the release's float32 FFT), quasiseparable DD 2.3e-9 and DI 5.4e-11, every other file at
     * most 7.3e-16.
     */
    public static double mixerOutput(String file) {
        if (file.contains("toeplitz_dd")) return 1e-6;
        if (file.contains("toeplitz_di")) return 2e-7;
        if (file.contains("quasiseparable_dd")) return 1e-7;
        if (file.contains("quasiseparable_di")) return 2e-9;
        return 2e-14;
    }

    /**
     * The release's checkpoints (tests/.../checkpoints), fp64, every output: ckpt_pub_mlm (Hydra mixers)
     * 3.7e-8 sequence, 4.2e-8 logits (the Hydra residue above); ckpt_pub_lowrank 4.7e-16 sequence, 1.5e-15
     * pooled, 3.0e-16 logits.
     */
    public static double releaseFp64(String folder) {
        return folder.contains("lowrank") ? 1e-13 : 1e-6;
    }
}
