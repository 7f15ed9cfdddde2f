package dev.hydra.mixer;

import dev.hydra.math.ScanInputs;

/**
 * What one mixing step reads, in fp64, row-major. {@code v} (B, L, H*P) is the mixed input. The rest
 * depends on the type (null where unused); "batch stride" is 0 for a data-independent parameter that
 * every batch shares:
 * {@code q, k} rows of H*qk_dim per position (vandermonde and attention: as projected; cauchy: already
 * {@code exp(.) + b}); {@code kernel} (B|1, H, 2L-1) the toeplitz kernel; {@code matrix} (H|1, L, L) a
 * given matrix (dense, vandermonde DI) with {@code matrixHeadStride} L*L or 0; {@code scan, delta} the
 * quasiseparable's Hydra scan inputs and diagonal (B, L, H).
 */
public record MixerOperands(int batch, int len, int heads, int headdim, int qkDim, double scale, double[] v,
                     double[] q, double[] k, int qkBatchStride, double[] kernel, int kernelBatchStride,
                     double[] matrix, int matrixHeadStride, ScanInputs scan, double[] delta) {

    int width() {
        return heads * headdim;
    }

    /** Offset of (b, t, h) in q or k. */
    int qk(int b, int t, int h) {
        return b * qkBatchStride + t * heads * qkDim + h * qkDim;
    }
}
