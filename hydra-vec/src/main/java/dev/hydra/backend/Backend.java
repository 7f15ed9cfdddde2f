package dev.hydra.backend;

import dev.hydra.HydraException;
import dev.hydra.forward.Inputs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

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
     * Native memory for {@code floats} host floats that this backend moves fastest, freed when {@code arena}
     * closes: page-locked on a GPU, so that {@link #linearFromHost} and {@link #linearToHost} move it by DMA with
     * no staging copy; plain native memory here.
     */
    default MemorySegment allocateHost(long floats, Arena arena) {
        if (floats < 0) throw new HydraException("host buffer: negative size " + floats);
        if (!arena.scope().isAlive()) throw new HydraException("host buffer: the arena is closed");
        try {
            return arena.allocate(Math.multiplyExact(floats, Float.BYTES), 64);
        } catch (OutOfMemoryError | ArithmeticException e) {
            throw new HydraException("host buffer: " + floats + " floats of native memory cannot be allocated");
        }
    }

    /** The index of the first NaN or infinity in {@code host}, or -1: the check of a layer's input and output rows on the host. */
    default int firstNonFinite(float[] host) {
        return Inputs.firstNonFinite(host);
    }

    /**
     * {@link #linear} of host rows, a layer's first product: y (rows, out) = x W^T + b for x (rows, in) on
     * the host (a Java array's segment or native memory). Returns the index of x's first non-finite value
     * (then y is undefined), or -1. Here x is checked, then read through {@link #wrap} (a native x is copied
     * to the heap first); a GPU overlaps x's transfer (and check) with the product.
     */
    default int linearFromHost(MemorySegment x, int rows, int in, Buf w, Buf bias, int out, Buf y) {
        float[] rowsOnHeap = HostFloats.array(x);
        int bad = firstNonFinite(rowsOnHeap);
        if (bad >= 0) return bad;
        try (Buf xb = wrap(rowsOnHeap)) {
            linear(xb, in, 0, rows, in, w, bias, out, y);
        }
        return -1;
    }

    /**
     * {@link #linear} to host rows, a layer's last product: y (rows, out) = x W^T + b into the work buffer y,
     * copied into {@code host} (rows * out floats, a Java array's segment or native memory). Returns the index
     * of the first non-finite value of the result, or -1. A GPU overlaps the product, its download and the check.
     */
    default int linearToHost(Buf x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, Buf y, MemorySegment host) {
        linear(x, xStride, xCol, rows, in, w, bias, out, y);
        Optional<float[]> whole = HostFloats.wholeArray(host);
        float[] result = whole.orElseGet(() -> new float[Math.toIntExact(host.byteSize() / Float.BYTES)]);
        download(y, result);
        if (whole.isEmpty()) MemorySegment.copy(result, 0, host, ValueLayout.JAVA_FLOAT, 0, result.length);
        return firstNonFinite(result);
    }

    /**
     * docs/spec.md §1.3 step 2: dst (rows, channels) = silu(depthwise cross-correlation of the source columns
     * [srcCol, srcCol + channels) with w (channels, k), zero padding k/2 at both ends of each sequence of
     * {@code seqs}, plus bias (nullable)).
     */
    void convSilu(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst);

    /** {@link #convSilu} without the silu (the matrix mixers' q and k channels, docs/spec.md §2). */
    void depthwiseConv(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst);

    /** docs/spec.md §1.3 step 3: dst (rows, heads) = clamp(softplus(src columns + dtBias), lo, hi). */
    void softplusDt(Buf src, int srcStride, int srcCol, int rows, int heads, Buf dtBias, float lo, float hi, Buf dst);

    /**
     * docs/spec.md §1.3 steps 4 or 5 by the chunked algorithm: y (rows, H*P) of every sequence of {@code s.seqs()}
     * for one direction, in one call however their lengths mix; {@code init} (H, P, N) nullable, each sequence's
     * initial state.
     */
    void ssdScan(ScanLayout s, Buf xbc, Buf dt, Buf a, Buf init, Buf y);

    /**
     * The length of the chunks {@link #ssdScan} computes in for a layout's {@code chunkSize}: the result is the same
     * math for any, and shorter chunks do fewer FLOPs (see {@code LayerFlops.scanShare}).
     */
    default int scanChunk(int chunkSize) {
        return chunkSize;
    }

    /**
     * docs/spec.md §1.3 step 6: out[t] = yF[t-1] + yB[t+1] + x_t * delta[t, h] within each sequence of {@code seqs}
     * (the shifted terms are zero at its ends); x read from columns [0, H*P) of rows of xStride.
     */
    void shiftAddDiagonal(Sequences seqs, int heads, int headdim, Buf yF, Buf yB, Buf x, int xStride, Buf delta, Buf out);

    /** docs/spec.md §1.3 step 7: out = y / sqrt(mean(y^2) + eps) * weight * silu(z), z read in place; out may be y. */
    void gatedRmsNorm(Buf y, int rows, int dim, Buf z, int zStride, int zCol, Buf weight, float eps, Buf out);

    /**
     * Steps 6 and 7 in one: out = {@link #gatedRmsNorm} of the {@link #shiftAddDiagonal} mix (dim heads * headdim),
     * the mix also kept in {@code mix} when it is not null. Here the two run in sequence (the mix passing through
     * out when mix is null); a GPU makes one pass over the rows and writes only out (and mix).
     */
    default void shiftAddDiagonalNorm(Sequences seqs, int heads, int headdim, Buf yF, Buf yB, Buf x, int xStride, Buf delta,
                                      Buf z, int zStride, int zCol, Buf weight, float eps, Buf mix, Buf out) {
        Buf m = mix != null ? mix : out;
        shiftAddDiagonal(seqs, heads, headdim, yF, yB, x, xStride, delta, m);
        gatedRmsNorm(m, seqs.rows(), heads * headdim, z, zStride, zCol, weight, eps, out);
    }

    // ---- the encoder around the mixers (docs/spec.md §3) -------------------------------------------

    /**
     * Step 1's gather: out (rows, d) = word[ids[r]] + type[typeIds[r]] (+ pos[t] when pos is not null, t the
     * row's position in its sequence of {@code seqs}), for the host token ids of one batch (the only per-call
     * host input besides the mask).
     */
    void embed(int[] ids, int[] typeIds, Sequences seqs, Buf word, Buf type, Buf pos, int d, Buf out);

    /** out (rows, d) = (x - mean) / sqrt(var + eps) * w + b per row, var biased; out may be x. */
    void layerNorm(Buf x, int rows, int d, Buf w, Buf b, float eps, Buf out);

    /** The residual: acc[i] += x[i] for i in [0, n). */
    void addInPlace(Buf acc, Buf x, long n);

    /** out (rows, d) = x with the rows whose mask (rows floats, 1 or 0) is 0 set to zero; out may be x. */
    void maskRows(Buf x, int rows, int d, Buf mask, Buf out);

    /**
     * The pooler's input: out (count, d) = the first row of each sequence of {@code seqs} in h (rows, d), or
     * with {@code mean} the sum of its rows divided by max(1, the sequence's mask count) (padded rows are zero already).
     */
    void poolRows(Buf h, Sequences seqs, int d, Buf mask, boolean mean, Buf out);

    /** In place on the first n floats: tanh (the pooler), or the exact gelu x/2 (1 + erf(x / sqrt 2)) (the MLM head). */
    void activate(Buf x, long n, Activation f);

    /** The element-wise functions of {@link #activate}. */
    enum Activation { TANH, GELU }

    /**
     * Bytes this backend can still give to new buffers (the heap's free memory on the CPU, free device
     * memory plus the backend's pooled buffers on a GPU), for refusing work that cannot fit before it starts.
     */
    long availableBytes();

    /** What {@link #availableBytes} measures, for messages: "the heap" or "the gpu". */
    default String memoryName() {
        return "the heap";
    }

    /**
     * True when {@link #linear} and the scan's chunk products round their operands to bf16 (fp32
     * accumulation): the bf16 mode, which only the CUDA backend has. Buffers stay fp32 either way.
     */
    default boolean bf16Products() {
        return false;
    }

    @Override
    default void close() {}
}
