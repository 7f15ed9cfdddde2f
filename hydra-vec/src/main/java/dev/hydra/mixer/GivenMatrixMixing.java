package dev.hydra.mixer;

/** A matrix held as a parameter: dense ({@code matrix_mixer.M}, per head) and vandermonde DI ({@code dft_matrix}). */
final class GivenMatrixMixing extends RowMixing {
    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int L = o.len(), off = h * o.matrixHeadStride() + t * L;
        for (int l = 0; l < L; l++) row[l] = o.scale() * o.matrix()[off + l];
    }
}
