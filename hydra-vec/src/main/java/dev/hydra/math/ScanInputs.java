package dev.hydra.math;

/**
 * What the two-direction scan (docs/spec.md §1.3 steps 4-6) reads, in fp64, contiguous per tensor:
 * {@code x} (B, L, H*P); {@code bF, cF, bB, cB} (B, L, G*N); {@code dtF, dtB} (B, L, H), already
 * softplus-ed and clamped; {@code a} (H), negative; {@code init} (H, P, N) or null for zero states.
 * The quasiseparable matrix mixer passes the same arrays for both directions.
 */
public record ScanInputs(int batch, int len, int heads, int headdim, int groups, int state,
                         double[] x, double[] bF, double[] cF, double[] bB, double[] cB,
                         double[] dtF, double[] dtB, double[] a, double[] init) {

    public enum Direction { FORWARD, BACKWARD }

    public int group(int head) {
        return head / (heads / groups);
    }

    double[] b(Direction d) {
        return d == Direction.FORWARD ? bF : bB;
    }

    double[] c(Direction d) {
        return d == Direction.FORWARD ? cF : cB;
    }

    double[] dt(Direction d) {
        return d == Direction.FORWARD ? dtF : dtB;
    }

    /** Sequence position of the s-th step of a scan: left to right forward, right to left backward. */
    int position(Direction d, int s) {
        return d == Direction.FORWARD ? s : len - 1 - s;
    }
}
