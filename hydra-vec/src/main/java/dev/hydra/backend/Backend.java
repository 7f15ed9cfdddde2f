package dev.hydra.backend;

/**
 * The operator interface every fp32 engine implements (scalar Java, Vector API, CUDA). Each call is one
 * whole-tensor operation on {@link Buf}s of this backend; matrices are row-major, "stride" is the
 * distance between rows in floats and "col" the first column read, so that operands are read in place
 * out of a wider tensor. Calls on one backend may come from many threads at once, on distinct output
 * buffers. The fp32 layers are written against this interface only.
 */
public interface Backend extends AutoCloseable {

    String name();

    /** A zero-filled buffer of {@code n} floats. */
    Buf allocate(long n);

    /** A new buffer holding a copy of {@code host}. */
    Buf upload(float[] host);

    /** A buffer this backend can read {@code host} through: the array itself on the heap, else a copy. */
    default Buf wrap(float[] host) {
        return upload(host);
    }

    /** Copies the first {@code dst.length} floats of {@code src} into {@code dst}. */
    void download(Buf src, float[] dst);

    /** y (rows, out) = x W^T + b, W (out, in) as nn.Linear stores it, bias nullable. */
    void linear(Buf x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, Buf y);

    /**
     * docs/spec.md §1.3 step 2: dst (batch*len, channels) = silu(depthwise cross-correlation of the source columns
     * [srcCol, srcCol + channels) with w (channels, k), zero padding k/2, plus bias (nullable)).
     */
    void convSilu(Buf src, int srcStride, int srcCol, int batch, int len, int channels, Buf w, Buf bias, int k, Buf dst);

    /** {@link #convSilu} without the silu (the matrix mixers' q and k channels, docs/spec.md §2). */
    void depthwiseConv(Buf src, int srcStride, int srcCol, int batch, int len, int channels, Buf w, Buf bias, int k, Buf dst);

    /** docs/spec.md §1.3 step 3: dst (rows, heads) = clamp(softplus(src columns + dtBias), lo, hi). */
    void softplusDt(Buf src, int srcStride, int srcCol, int rows, int heads, Buf dtBias, float lo, float hi, Buf dst);

    /** docs/spec.md §1.3 steps 4 or 5 by the chunked algorithm: y (B*L, H*P) for one direction; {@code init} (H, P, N) nullable. */
    void ssdScan(ScanLayout s, Buf xbc, Buf dt, Buf a, Buf init, Buf y);

    /** docs/spec.md §1.3 step 6: out[t] = yF[t-1] + yB[t+1] + x_t * delta[t, h]; x read from columns [0, H*P) of rows of xStride. */
    void shiftAddDiagonal(int batch, int len, int heads, int headdim, Buf yF, Buf yB, Buf x, int xStride, Buf delta, Buf out);

    /** docs/spec.md §1.3 step 7: out = y / sqrt(mean(y^2) + eps) * weight * silu(z), z read in place. */
    void gatedRmsNorm(Buf y, int rows, int dim, Buf z, int zStride, int zCol, Buf weight, float eps, Buf out);

    @Override
    default void close() {}
}
