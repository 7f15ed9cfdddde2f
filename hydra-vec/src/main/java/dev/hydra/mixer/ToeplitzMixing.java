package dev.hydra.mixer;

import org.jtransforms.fft.DoubleFFT_1D;

/**
 * Toeplitz: M[t, l] = k[(t - l + L) mod (2L-1)] for a kernel k of length 2L-1 (SPEC table; the release's
 * zero-padded circular FFT of size 2L-1, so the diagonal reads k[L], that is f[1]). Structured as that
 * circular convolution by FFT, O(L log L) per column: v is placed at positions [L-1, 2L-1) and the first
 * L outputs are kept. Two real columns ride in one complex FFT (real and imaginary parts), since the
 * kernel is real.
 */
final class ToeplitzMixing extends RowMixing {
    @Override
    void row(MixerOperands o, int b, int h, int t, double[] row) {
        int L = o.len(), n = 2 * L - 1, off = b * o.kernelBatchStride() + h * n;
        for (int l = 0; l < L; l++) row[l] = o.scale() * o.kernel()[off + Math.floorMod(t - l + L, n)];
    }

    @Override
    public double[] mix(MixerOperands o) {
        int L = o.len(), n = 2 * L - 1, P = o.headdim(), W = o.width();
        DoubleFFT_1D fft = new DoubleFFT_1D(n);
        double[] y = new double[o.batch() * L * W], kf = new double[2 * n], a = new double[2 * n];
        for (int b = 0; b < o.batch(); b++)
            for (int h = 0; h < o.heads(); h++) {
                int ko = b * o.kernelBatchStride() + h * n;
                java.util.Arrays.fill(kf, 0);
                for (int i = 0; i < n; i++) kf[2 * i] = o.kernel()[ko + i];
                fft.complexForward(kf);
                for (int p = 0; p < P; p += 2) {
                    boolean pair = p + 1 < P;
                    java.util.Arrays.fill(a, 0);
                    for (int l = 0; l < L; l++) {
                        int vo = (b * L + l) * W + h * P + p;
                        a[2 * (L - 1 + l)] = o.v()[vo];
                        if (pair) a[2 * (L - 1 + l) + 1] = o.v()[vo + 1];
                    }
                    fft.complexForward(a);
                    for (int i = 0; i < n; i++) {
                        double re = a[2 * i] * kf[2 * i] - a[2 * i + 1] * kf[2 * i + 1];
                        double im = a[2 * i] * kf[2 * i + 1] + a[2 * i + 1] * kf[2 * i];
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
