package dev.hydra.mixer;

import org.jtransforms.fft.DoubleFFT_1D;

/**
 * Toeplitz: M[t, l] = k[(t - l + L) mod (2L-1)] for a kernel k of length 2L-1 (docs/spec.md §2.3; the release's
 * zero-padded circular FFT of size 2L-1, so the diagonal reads k[L], that is f[1]). Structured as a
 * convolution by FFT, O(L log L) per column: the coefficients of offsets -(L-1)..L-1 are laid out
 * circularly in a power-of-two size >= 2L-1, which holds the full linear convolution without aliasing.
 * Two real columns ride in one complex FFT (real and imaginary parts), since the kernel is real.
 */
final class ToeplitzMixing extends RowMixing {
    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int L = o.len(), n = 2 * L - 1, off = b * o.kernelBatchStride() + h * n;
        for (int l = 0; l < L; l++) row[l] = o.scale() * o.kernel()[off + Math.floorMod(t - l + L, n)];
    }

    @Override
    public double[] mix(MixerOperands o) {
        int L = o.len(), n = 2 * L - 1, size = Integer.highestOneBit(n) << (Integer.bitCount(n) > 1 ? 1 : 0);
        int P = o.headdim(), W = o.width();
        DoubleFFT_1D fft = new DoubleFFT_1D(size);
        double[] y = new double[o.batch() * L * W], g = new double[2 * size], a = new double[2 * size];
        for (int b = 0; b < o.batch(); b++)
            for (int h = 0; h < o.heads(); h++) {
                // the coefficient of offset d = t - l, |d| < L, at g[d mod size]: no wrap-around since size >= 2L-1
                int ko = b * o.kernelBatchStride() + h * n;
                java.util.Arrays.fill(g, 0);
                for (int d = -(L - 1); d < L; d++) g[2 * Math.floorMod(d, size)] = o.kernel()[ko + Math.floorMod(d + L, n)];
                fft.complexForward(g);
                for (int p = 0; p < P; p += 2) {
                    boolean pair = p + 1 < P;
                    java.util.Arrays.fill(a, 0);
                    for (int l = 0; l < L; l++) {
                        int vo = (b * L + l) * W + h * P + p;
                        a[2 * l] = o.v()[vo];
                        if (pair) a[2 * l + 1] = o.v()[vo + 1];
                    }
                    fft.complexForward(a);
                    for (int i = 0; i < size; i++) {
                        double re = a[2 * i] * g[2 * i] - a[2 * i + 1] * g[2 * i + 1];
                        double im = a[2 * i] * g[2 * i + 1] + a[2 * i + 1] * g[2 * i];
                        a[2 * i] = re;
                        a[2 * i + 1] = im;
                    }
                    fft.complexInverse(a, true);
                    for (int t = 0; t < L; t++) {
                        int yo = (b * L + t) * W + h * P + p;
                        y[yo] = o.scale() * a[2 * t];
                        if (pair) y[yo + 1] = o.scale() * a[2 * t + 1];
                    }
                }
            }
        return y;
    }
}
