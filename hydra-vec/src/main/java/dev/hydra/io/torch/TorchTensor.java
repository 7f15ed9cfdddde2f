package dev.hydra.io.torch;

import dev.hydra.HydraException;
import dev.hydra.io.LittleEndian;
import dev.hydra.io.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A tensor of a checkpoint as {@code torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 * stride, ...)} describes it: a strided view into a storage that other tensors may share. The view is
 * checked against the storage when it is made (non-negative sizes and strides, no element-count
 * overflow, offset plus largest index inside the storage, no more elements than the storage holds, so
 * that a tiny file cannot ask for a huge array), so reading it cannot fail; reads gather by
 * the strides into row-major heap arrays, converting any float dtype to float or double. Equality is
 * identity.
 */
public final class TorchTensor {
    /** Dimensions beyond this are refused (PyTorch itself allows 64). */
    static final int MAX_DIMS = 64;


    private final String source;
    private final TorchStorage storage;
    private final long offset;
    private final long[] shape;
    private final long[] stride;
    private final long count;

    private TorchTensor(String source, TorchStorage storage, long offset, long[] shape, long[] stride, long count) {
        this.source = source;
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
        this.stride = stride;
        this.count = count;
    }

    /** The view {@code storage[offset + sum(i_k * stride_k)]}, or a one-line error saying why it is impossible. */
    static TorchTensor view(String source, TorchStorage storage, long offset, long[] shape, long[] stride) {
        String where = source + ": tensor on storage '" + storage.key + "'";
        if (shape.length != stride.length)
            throw new HydraException(where + " has " + shape.length + " sizes but " + stride.length + " strides");
        if (shape.length > MAX_DIMS) throw new HydraException(where + " has " + shape.length + " dimensions (at most " + MAX_DIMS + ")");
        if (offset < 0) throw new HydraException(where + " has a negative storage offset " + offset);
        long count = 1, last = 0;
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] < 0 || stride[k] < 0)
                throw new HydraException(where + " has a negative size or stride " + Arrays.toString(shape) + " / " + Arrays.toString(stride));
            try {
                count = Math.multiplyExact(count, shape[k]);
                if (shape[k] > 0) last = Math.addExact(last, Math.multiplyExact(shape[k] - 1, stride[k]));
            } catch (ArithmeticException e) {
                throw new HydraException(where + " of shape " + Arrays.toString(shape) + " overflows its element count or extent");
            }
        }
        if (count > storage.numel)
            throw new HydraException(where + " of shape " + Arrays.toString(shape) + " has " + count + " elements, more than its storage's "
                    + storage.numel + " (a broadcast view by zero strides, which a checkpoint does not need)");
        if (count > 0 && (last >= storage.numel || offset > storage.numel - 1 - last))
            throw new HydraException(where + " of shape " + Arrays.toString(shape) + ", stride " + Arrays.toString(stride) + " and offset " + offset
                    + " needs " + java.math.BigInteger.valueOf(offset).add(java.math.BigInteger.valueOf(last)).add(java.math.BigInteger.ONE) + " elements but the storage holds " + storage.numel);
        return new TorchTensor(source, storage, offset, shape, stride, count);
    }

    public DType dtype() {
        return storage.dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long[] stride() {
        return stride.clone();
    }

    public long storageOffset() {
        return offset;
    }

    public long elementCount() {
        return count;
    }

    /** True when the strides are the row-major ones of the shape, so the elements are one run of the storage. */
    public boolean isContiguous() {
        long expected = 1;
        for (int k = shape.length - 1; k >= 0; k--) {
            if (shape[k] != 1 && stride[k] != expected) return false;
            expected *= shape[k];
        }
        return true;
    }

    /** The elements in row-major order as float; any float dtype converts, integer dtypes are refused. */
    public float[] floats() {
        MemorySegment s = storage.bytes(source);
        float[] out = new float[checkedCount()];
        if (isContiguous() && dtype() == DType.F32) {
            MemorySegment.copy(s, LittleEndian.F32, offset * 4, out, 0, out.length);
            return out;
        }
        switch (dtype()) {
            case F32 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.F32, e));
            case F64 -> gather((i, e) -> out[i] = (float) s.getAtIndex(LittleEndian.F64, e));
            case F16 -> gather((i, e) -> out[i] = Float.float16ToFloat(s.getAtIndex(LittleEndian.I16, e)));
            case BF16 -> gather((i, e) -> out[i] = Float.intBitsToFloat((s.getAtIndex(LittleEndian.I16, e) & 0xffff) << 16));
            default -> throw notFloat();
        }
        return out;
    }

    /** The elements in row-major order as double; any float dtype converts exactly, integer dtypes are refused. */
    public double[] doubles() {
        MemorySegment s = storage.bytes(source);
        double[] out = new double[checkedCount()];
        if (isContiguous() && dtype() == DType.F64) {
            MemorySegment.copy(s, LittleEndian.F64, offset * 8, out, 0, out.length);
            return out;
        }
        switch (dtype()) {
            case F64 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.F64, e));
            case F32 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.F32, e));
            case F16 -> gather((i, e) -> out[i] = Float.float16ToFloat(s.getAtIndex(LittleEndian.I16, e)));
            case BF16 -> gather((i, e) -> out[i] = Float.intBitsToFloat((s.getAtIndex(LittleEndian.I16, e) & 0xffff) << 16));
            default -> throw notFloat();
        }
        return out;
    }

    /** The elements in row-major order as long, for integer and bool tensors (BOOL as 0/1, U8 unsigned). */
    public long[] longs() {
        MemorySegment s = storage.bytes(source);
        long[] out = new long[checkedCount()];
        switch (dtype()) {
            case I64 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.I64, e));
            case I32 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.I32, e));
            case I16 -> gather((i, e) -> out[i] = s.getAtIndex(LittleEndian.I16, e));
            case I8, BOOL -> gather((i, e) -> out[i] = s.get(ValueLayout.JAVA_BYTE, e));
            case U8 -> gather((i, e) -> out[i] = s.get(ValueLayout.JAVA_BYTE, e) & 0xff);
            default -> throw new HydraException(source + ": tensor on storage '" + storage.key + "' has dtype " + dtype() + ", expected an integer type");
        }
        return out;
    }

    private interface ElementSink {
        /** Row-major position {@code i} of the tensor holds storage element {@code element}. */
        void accept(int i, long element);
    }

    /** Visits every element in row-major order: an odometer over all dimensions but the last, a strided run along it. */
    private void gather(ElementSink sink) {
        if (count == 0) return;
        int dims = shape.length;
        if (dims == 0) {
            sink.accept(0, offset);
            return;
        }
        long[] index = new long[dims];
        long inner = shape[dims - 1], innerStride = stride[dims - 1];
        long base = offset;
        int i = 0;
        while (true) {
            long e = base;
            for (long j = 0; j < inner; j++, e += innerStride) sink.accept(i++, e);
            int k = dims - 2;
            while (k >= 0 && ++index[k] == shape[k]) {
                base -= (shape[k] - 1) * stride[k];
                index[k] = 0;
                k--;
            }
            if (k < 0) return;
            base += stride[k];
        }
    }

    private int checkedCount() {
        if (count > Integer.MAX_VALUE - 8)
            throw new HydraException(source + ": tensor on storage '" + storage.key + "' has " + count + " elements, more than a Java array holds");
        return (int) count;
    }

    private HydraException notFloat() {
        return new HydraException(source + ": tensor on storage '" + storage.key + "' has dtype " + dtype() + ", expected a float type");
    }

    @Override
    public String toString() {
        return "TorchTensor[" + dtype() + " " + Arrays.toString(shape) + (isContiguous() ? "" : " stride " + Arrays.toString(stride)) + "]";
    }
}
