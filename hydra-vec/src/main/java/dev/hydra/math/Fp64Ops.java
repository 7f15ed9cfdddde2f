package dev.hydra.math;

/**
 * The fp64 building blocks that Hydra and the matrix mixers share (docs/spec.md §1.3 steps 1, 2, 7, 8): each
 * one a plain loop nest over row-major arrays, the fp64 counterpart of the fp32 {@code Backend} ops.
 */
public final class Fp64Ops {
    private Fp64Ops() {}

    /** y (rows, out) = x W^T + b, W stored (out, in) like nn.Linear; x read from columns [xCol, xCol + in) of rows of xStride. */
    public static double[] linear(double[] x, int xStride, int xCol, int rows, int in, double[] wt, double[] bias, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[r * xStride + xCol + i] * wt[o * in + i];
                y[r * out + o] = s;
            }
        return y;
    }

    public static double[] linear(double[] x, int rows, int in, double[] wt, double[] bias, int out) {
        return linear(x, in, 0, rows, in, wt, bias, out);
    }

    /**
     * Step 2: dst (batch*len, channels) = the depthwise cross-correlation of source columns [srcCol, srcCol +
     * channels) with w (channels, k), zero padding k/2, plus bias (nullable); silu is applied to the first
     * {@code siluChannels} output channels only (all of them for Hydra).
     */
    public static double[] depthwiseConv(double[] src, int srcStride, int srcCol, int batch, int len, int channels,
                                         double[] w, double[] bias, int k, int siluChannels) {
        int pad = k / 2;
        double[] out = new double[batch * len * channels];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++)
                for (int ch = 0; ch < channels; ch++) {
                    double s = bias == null ? 0 : bias[ch];
                    for (int j = 0; j < k; j++) {
                        int ts = t + j - pad;
                        if (ts >= 0 && ts < len) s += w[ch * k + j] * src[(b * len + ts) * srcStride + srcCol + ch];
                    }
                    out[(b * len + t) * channels + ch] = ch < siluChannels ? silu(s) : s;
                }
        return out;
    }

    /** Step 7: y / sqrt(mean(y^2) + 1e-5) * weight * silu(z), z read from columns [zCol, zCol + dim) of rows of zStride. */
    public static double[] gatedRmsNorm(double[] y, int rows, int dim, double[] z, int zStride, int zCol, double[] weight) {
        double[] out = new double[rows * dim];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += y[r * dim + i] * y[r * dim + i];
            double inv = Double.isInfinite(ss) ? 1 / rescaledRms(y, r * dim, dim) : 1 / Math.sqrt(ss / dim + 1e-5);
            for (int i = 0; i < dim; i++) out[r * dim + i] = y[r * dim + i] * inv * weight[i] * silu(z[r * zStride + zCol + i]);
        }
        return out;
    }

    /**
     * sqrt(mean(y^2) + 1e-5) for a row whose squares overflow (|y| above ~1e154): the same value, computed
     * on y / max|y| so that a finite result is not turned into zeros by an infinite sum of squares.
     */
    private static double rescaledRms(double[] y, int from, int n) {
        double max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, Math.abs(y[from + i]));
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (y[from + i] / max) * (y[from + i] / max);
        return max * Math.sqrt(ss / n + 1e-5 / max / max);
    }

    /** Columns [from, from + n) of a (rows, stride) matrix, contiguous. */
    public static double[] columns(double[] m, int rows, int stride, int from, int n) {
        double[] out = new double[rows * n];
        for (int r = 0; r < rows; r++) System.arraycopy(m, r * stride + from, out, r * n, n);
        return out;
    }

    public static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    /** PyTorch's softplus: log(1 + e^x), and x itself above the threshold 20. */
    public static double softplus(double v) {
        return v > 20 ? v : Math.log1p(Math.exp(v));
    }
}
