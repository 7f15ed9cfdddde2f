package dev.hydra.gpu;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.Buf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.config.JvmProperties;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.hydra.gpu.CudaDriver.check;

/**
 * The fp32 operators on an NVIDIA GPU through JCuda's driver API, running the kernels of
 * {@code src/main/cuda/hydra.cu}. Work goes to the context's (legacy) default stream, or to streams
 * that synchronize with it, so operations run in call order and a {@link #download} sees every
 * earlier operation. Freed buffers return to a pool keyed
 * by size, so that repeated forward passes reuse device memory instead of allocating it. Host
 * transfers run in slices through a ring of pinned buffers on a copy stream, so that the host-side copies
 * of some slices (on a few copier threads, a slice each) overlap the DMA of the others; a layer's first and last
 * products on host rows ({@link #linearFromHost}, {@link #linearToHost}) also overlap those transfers
 * with the product itself, and check finiteness on the device. Methods are synchronized: one
 * backend may be shared by threads, whose calls are serialized.
 */
public final class CudaBackend implements Backend {
    /**
     * How the projections multiply: plain fp32 FMAs, the tensor cores in "3xTF32" (operands split in
     * two TF32 halves, fp32 accuracy; the default), or the tensor cores in plain TF32 (relative error
     * ~1e-3, as the release's Triton kernels), or the tensor cores in bf16 (operands rounded to bf16,
     * fp32 accumulation: {@link dev.hydra.weights.Precision#BF16}). Chosen per backend, or by
     * {@code -Dhydra.gpu.matmul}. Operands whose rows are not 16-byte aligned, and products with at most
     * 32 outputs, use FFMA kernels. The scan's products (chunk states, the scores C B^T once per group,
     * chunk output) run in bf16 in the bf16 mode, in 3xTF32 in the two TF32 modes, in FFMA otherwise (the
     * chunk output also where d_state is too large for its shared memory).
     */
    public enum Matmul {
        FFMA, TF32X3, TF32, BF16;

        /** {@code ffma}, {@code tf32x3}, {@code tf32} or {@code bf16}, in any case; anything else is a one-line error. */
        public static Matmul parse(String name) {
            for (Matmul m : values()) if (m.name().equalsIgnoreCase(name)) return m;
            throw new HydraException("gpu: unknown matmul mode '" + name + "' (known: ffma, tf32x3, tf32, bf16)");
        }
    }

    private static final int THREADS = 256;
    private static final int TILE = 64;
    /** conv_silu_kernel's time steps per thread (CONV_T in hydra.cu). */
    private static final int CONV_T = 8;
    /** linear_tc_kernel's ring of 3 stages of (128 + 128) rows x 36 floats. */
    private static final int TC_SHARED_BYTES = 3 * 256 * 36 * Float.BYTES;
    /** linear_bf16_kernel's ring of 4 stages of (128 + 128) rows x 40 bf16. */
    private static final int BF16_SHARED_BYTES = 4 * 256 * 40 * 2;
    /** ssd_chunk_state_tc_kernel's two stages of x and B tiles (64 x 68 each) and of the 64 steps' weights. */
    private static final int CHUNK_STATE_TC_SHARED_BYTES = (4 * TILE * (TILE + 4) + 2 * TILE) * Float.BYTES;
    /** Shared memory a block may have on sm_80 and newer; larger d_state runs the FFMA chunk-output kernel. */
    private static final int MAX_SHARED_BYTES = 160 * 1024;

    private final CUcontext ctx;
    private final CUmodule module = new CUmodule();
    private final Matmul matmul;
    private final CUfunction linear, linearTc, linearBf16, toBf16, linearSkinny, convSilu, softplusDt, cumsum, chunkState, chunkStateTc, statePass, chunkOutput, chunkScores, chunkOutputTc, shiftAdd, rmsNorm, shiftNorm;
    private final CUfunction embed, layerNorm, addInPlace, maskRows, poolRows, activate, firstNonFinite;
    private final Map<Long, ArrayDeque<CUdeviceptr>> pool = new HashMap<>();
    private final List<DeviceBuf> live = new ArrayList<>();
    /**
     * The two scan directions are independent: each runs on its own stream (streams that synchronize
     * with the default stream, so they start after the operators before them and the operators after
     * them wait for both), with its own work buffers.
     */
    private final CUstream[] scanStream = {new CUstream(), new CUstream()};
    private final DeviceBuf[] cum = new DeviceBuf[2], states = new DeviceBuf[2], scores = new DeviceBuf[2];
    /** The bf16 mode's product operands, x's rows and W rounded to bf16 (two a float) for each product. */
    private DeviceBuf xBf16, wBf16;
    /** The dynamic shared memory the two tensor-core scan kernels may use so far (raised when a larger d_state needs more). */
    private int chunkOutputTcShared = 48 * 1024, chunkScoresShared = 48 * 1024;
    /**
     * Threads that copy slices between Java arrays and pinned memory, each a whole slice at a time, and
     * the ring of pinned slices: while the copiers fill (or empty) half of it, the other half moves by DMA.
     * {@code -Dhydra.gpu.copiers=N} sets their number, 1 to 64 (default half the cores, 1 to 6); any other
     * value stops the backend with a one-line error before it touches the GPU.
     */
    private final int copierThreads = (int) JvmProperties.wholeNumber("hydra.gpu.copiers",
            Math.clamp(Runtime.getRuntime().availableProcessors() / 2, 1, 6), 1, 64), ring = 2 * copierThreads;
    private final ExecutorService copiers = Executors.newFixedThreadPool(copierThreads, work -> {
        Thread t = new Thread(work, "hydra-gpu-copier");
        t.setDaemon(true);
        return t;
    });
    /** The host-row products move their rows in about this many slices (each of at least {@link #MIN_SLICE_FLOATS}). */
    private static final int HOST_ROW_SLICES = 16, MIN_SLICE_FLOATS = 1 << 18;
    /** Floats per pinned slice (4 MiB; smaller in tests), and rows per product launch of the host-row products (0: about one wave). */
    private final int sliceFloats, productRows;
    /** Streaming multiprocessors: a wave of linear_tc_kernel is two blocks on each. */
    private final int multiprocessors;
    private final CUstream copyStream = new CUstream();
    /**
     * The host-row products' transfers, and their finiteness checks: streams that do not synchronize with
     * the default stream, ordered against it by events, so that slices move while the products run. The
     * checks have a stream of their own: a check kernel waits for a free multiprocessor while a product
     * fills them all, and on the transfers' stream it would hold back the slices behind it.
     */
    private final CUstream rowStream = new CUstream(), checkStream = new CUstream();
    private final Pointer[] pinned = new Pointer[ring];
    /** Page-locked host blocks that {@link #allocateHost} gave out and their arenas still hold, address to bytes (any backend's: one context). */
    private static final NavigableMap<Long, Long> PINNED_HOST = new ConcurrentSkipListMap<>();
    private final MemorySegment[] pinnedSegment = new MemorySegment[ring];
    private final CUevent[] sliceDone = new CUevent[ring];
    /** Recorded on the default stream: work queued before a host-row product, and the end of each of its launches. */
    private final CUevent queued = new CUevent();
    private final List<CUevent> productDone = new ArrayList<>();
    /** The index of the first non-finite value a host-row product found (INT_MAX: none), on the device and in pinned memory. */
    private DeviceBuf firstBad;
    private final Pointer firstBadHost = new Pointer();
    private boolean closed;

    public CudaBackend() {
        this(Matmul.parse(System.getProperty("hydra.gpu.matmul", "tf32x3")));
    }

    public CudaBackend(Matmul matmul) {
        this(matmul, 1 << 20, 0);
    }

    /** With pinned slices of {@code sliceFloats} and host-row products of {@code productRows} rows (0: about one wave): tests' ragged shapes. */
    CudaBackend(Matmul matmul, int sliceFloats, int productRows) {
        this.matmul = matmul;
        this.sliceFloats = sliceFloats;
        this.productRows = productRows;
        ctx = CudaDriver.context();
        current();
        CUdevice device = new CUdevice();
        int[] sms = new int[1];
        check(JCudaDriver.cuCtxGetDevice(device), "cuCtxGetDevice");
        check(JCudaDriver.cuDeviceGetAttribute(sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), "cuDeviceGetAttribute");
        multiprocessors = sms[0];
        check(JCudaDriver.cuModuleLoadData(module, CudaDriver.fatbin()), "loading the CUDA kernels");
        linear = function("linear_kernel");
        linearTc = function("linear_tc_kernel");
        linearBf16 = function("linear_bf16_kernel");
        toBf16 = function("to_bf16_kernel");
        linearSkinny = function("linear_skinny_kernel");
        for (CUstream st : scanStream) check(JCudaDriver.cuStreamCreate(st, 0), "cuStreamCreate");
        check(JCudaDriver.cuStreamCreate(copyStream, 0), "cuStreamCreate");
        check(JCudaDriver.cuStreamCreate(rowStream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        check(JCudaDriver.cuStreamCreate(checkStream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        check(JCudaDriver.cuEventCreate(queued, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        check(JCudaDriver.cuFuncSetAttribute(linearTc, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, TC_SHARED_BYTES),
                "raising linear_tc_kernel's shared memory");
        check(JCudaDriver.cuFuncSetAttribute(linearBf16, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, BF16_SHARED_BYTES),
                "raising linear_bf16_kernel's shared memory");
        convSilu = function("conv_silu_kernel");
        softplusDt = function("softplus_dt_kernel");
        cumsum = function("ssd_cumsum_kernel");
        chunkState = function("ssd_chunk_state_kernel");
        chunkStateTc = function("ssd_chunk_state_tc_kernel");
        check(JCudaDriver.cuFuncSetAttribute(chunkStateTc, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, CHUNK_STATE_TC_SHARED_BYTES),
                "raising ssd_chunk_state_tc_kernel's shared memory");
        statePass = function("ssd_state_pass_kernel");
        chunkOutput = function("ssd_chunk_output_kernel");
        chunkScores = function("ssd_chunk_scores_kernel");
        chunkOutputTc = function("ssd_chunk_output_tc_kernel");
        shiftAdd = function("shift_add_diagonal_kernel");
        rmsNorm = function("gated_rms_norm_kernel");
        shiftNorm = function("shift_diagonal_norm_kernel");
        embed = function("embed_kernel");
        layerNorm = function("layer_norm_kernel");
        addInPlace = function("add_in_place_kernel");
        maskRows = function("mask_rows_kernel");
        poolRows = function("pool_rows_kernel");
        activate = function("activate_kernel");
        firstNonFinite = function("first_non_finite_kernel");
    }

    private CUfunction function(String name) {
        CUfunction f = new CUfunction();
        check(JCudaDriver.cuModuleGetFunction(f, module, name), "loading kernel " + name);
        return f;
    }

    public Matmul matmul() {
        return matmul;
    }

    @Override
    public String name() {
        return "gpu (" + CudaDriver.deviceName() + ", " + matmul.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    private void current() {
        if (closed) throw new HydraException("gpu: backend used after close()");
        check(JCudaDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    }

    // ---- memory ---------------------------------------------------------------------------------

    /** A device buffer of this backend; close() returns its memory to the backend's pool. */
    final class DeviceBuf implements Buf {
        final CUdeviceptr ptr;
        final long floats, bytes;
        private boolean freed;

        DeviceBuf(CUdeviceptr ptr, long floats, long bytes) {
            this.ptr = ptr;
            this.floats = floats;
            this.bytes = bytes;
        }

        CudaBackend owner() {
            return CudaBackend.this;
        }

        @Override
        public long size() {
            return floats;
        }

        @Override
        public void close() {
            synchronized (CudaBackend.this) {
                if (freed || closed) return;
                freed = true;
                live.remove(this);
                pool.computeIfAbsent(bytes, k -> new ArrayDeque<>()).push(ptr);
            }
        }
    }

    @Override
    public synchronized Buf allocate(long n) {
        if (n < 0) throw new HydraException("gpu: negative buffer size " + n);
        current();
        DeviceBuf b = raw(n);
        if (n > 0) check(JCudaDriver.cuMemsetD32Async(b.ptr, 0, n, null), "cuMemsetD32Async");
        return b;
    }

    private DeviceBuf raw(long n) {
        long bytes = Math.max(256, (n * Float.BYTES + 255) & ~255L);
        ArrayDeque<CUdeviceptr> free = pool.get(bytes);
        CUdeviceptr p = free == null ? null : free.poll();
        if (p == null) {
            p = new CUdeviceptr();
            int rc = JCudaDriver.cuMemAlloc(p, bytes);
            if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                trimPool();
                rc = JCudaDriver.cuMemAlloc(p, bytes);
            }
            if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                long[] free1 = new long[1], total = new long[1];
                JCudaDriver.cuMemGetInfo(free1, total);
                throw new HydraException(String.format("gpu: out of device memory allocating %.2f GiB (%.2f GiB free of %.2f GiB)",
                        bytes / 1073741824.0, free1[0] / 1073741824.0, total[0] / 1073741824.0));
            }
            check(rc, "cuMemAlloc of " + bytes + " bytes");
        }
        DeviceBuf b = new DeviceBuf(p, n, bytes);
        live.add(b);
        return b;
    }

    private void trimPool() {
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        for (ArrayDeque<CUdeviceptr> q : pool.values())
            for (CUdeviceptr p : q) JCudaDriver.cuMemFree(p);
        pool.clear();
    }

    /** (free, total) device memory in bytes, as the driver reports it. */
    public synchronized long[] memoryInfo() {
        current();
        long[] free = new long[1], total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    /** Waits until all queued work has finished; reports a failed kernel. */
    public synchronized void synchronize() {
        current();
        check(JCudaDriver.cuCtxSynchronize(), "a CUDA kernel");
    }

    /** The pinned slices, allocated at the first host transfer. */
    private void pinnedSlices() {
        if (pinned[0] != null) return;
        long bytes = (long) sliceFloats * Float.BYTES;
        for (int i = 0; i < ring; i++) {
            pinned[i] = new Pointer();
            check(JCudaDriver.cuMemAllocHost(pinned[i], bytes), "cuMemAllocHost of " + bytes + " bytes");
            pinnedSegment[i] = MemorySegment.ofBuffer(pinned[i].getByteBuffer(0, bytes));
            sliceDone[i] = new CUevent();
            check(JCudaDriver.cuEventCreate(sliceDone[i], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        }
    }

    /**
     * The copy stream synchronizes with the default stream: an upload starts after the work queued
     * before it, and kernels queued after it wait for it; a download waits for the kernels before it.
     */
    @Override
    public synchronized Buf upload(float[] host) {
        current();
        DeviceBuf b = raw(host.length);
        toDevice(MemorySegment.ofArray(host), b.ptr, sliceFloats, copyStream, (off, n, arrived) -> { });
        return b;
    }

    @Override
    public synchronized void download(Buf src, float[] dst) {
        current();
        DeviceBuf b = dev(src);
        if (dst.length > b.floats) throw new HydraException("gpu: download of " + dst.length + " floats from a buffer of " + b.floats);
        fromDevice(b.ptr, MemorySegment.ofArray(dst), sliceFloats, copyStream, (off, n) -> { });
    }

    /** Work a sliced upload queues after the DMA of host floats [off, off + n), which {@code arrived} marks. */
    @FunctionalInterface
    private interface Arrived {
        void slice(long off, int n, CUevent arrived);
    }

    /** Work a sliced download queues on its stream before the DMA of host floats [off, off + n). */
    @FunctionalInterface
    private interface Leaving {
        void slice(long off, int n);
    }

    /**
     * Page-locked host memory ({@code cuMemAllocHost}), freed when the arena closes (the primary context it
     * belongs to outlives every backend, so a closed backend does not free it under the caller).
     */
    @Override
    public MemorySegment allocateHost(long floats, Arena arena) {
        if (floats < 0) throw new HydraException("gpu: host buffer of negative size " + floats);
        if (!arena.scope().isAlive()) throw new HydraException("gpu: host buffer in an arena that is closed");
        long bytes = Math.max(1, floats) * Float.BYTES;
        HostPointer p = new HostPointer();
        synchronized (this) {
            current();
            check(JCudaDriver.cuMemAllocHost(p, bytes), "cuMemAllocHost of " + bytes + " bytes");
        }
        long address = p.address();
        PINNED_HOST.put(address, bytes);
        return MemorySegment.ofAddress(address).reinterpret(floats * Float.BYTES, arena, segment -> {
            PINNED_HOST.remove(address);
            JCudaDriver.cuCtxSetCurrent(ctx);
            JCudaDriver.cuMemFreeHost(p);
        });
    }

    /** A pointer whose address a {@code cuMemAllocHost} sets, readable as a number for {@link MemorySegment#ofAddress}. */
    private static final class HostPointer extends Pointer {
        long address() {
            return getNativePointer();
        }
    }

    /** Whether all of {@code host} lies in page-locked memory from {@link #allocateHost}: then DMA reads and writes it directly. */
    static boolean pageLocked(MemorySegment host) {
        if (!host.isNative()) return false;
        Map.Entry<Long, Long> block = PINNED_HOST.floorEntry(host.address());
        return block != null && host.address() + host.byteSize() <= block.getKey() + block.getValue();
    }

    /** The n floats of host from float off on, as a pointer for the driver's copies. */
    private static Pointer at(MemorySegment host, long off, int n) {
        return Pointer.to(host.asSlice(off * Float.BYTES, (long) n * Float.BYTES).asByteBuffer());
    }

    /**
     * host's floats to the device at dst in slices of {@code slice} floats on {@code stream}: page-locked host
     * memory by DMA directly; anything else through the pinned ring, the copier threads copying the next
     * slices into pinned memory while the DMAs of the earlier ones run.
     */
    private void toDevice(MemorySegment host, CUdeviceptr dst, int slice, CUstream stream, Arrived after) {
        long floats = host.byteSize() / Float.BYTES;
        if (floats == 0) return;
        pinnedSlices();
        int slices = (int) cdiv(floats, slice);
        if (pageLocked(host)) {
            for (int k = 0; k < slices; k++) {
                int slot = k % ring, n = (int) Math.min(slice, floats - (long) k * slice);
                long off = (long) k * slice;
                check(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(off * Float.BYTES), at(host, off, n), (long) n * Float.BYTES, stream), "cuMemcpyHtoDAsync");
                check(JCudaDriver.cuEventRecord(sliceDone[slot], stream), "cuEventRecord");
                after.slice(off, n, sliceDone[slot]);
            }
            return;
        }
        Future<?>[] copies = new Future<?>[ring];
        try {
            for (int k = 0; k < Math.min(copierThreads, slices); k++) {
                check(JCudaDriver.cuEventSynchronize(sliceDone[k]), "cuMemcpyHtoDAsync");  // the slot's last DMA, maybe an earlier call's
                copies[k] = copy(host, (long) k * slice, k, slice, true);
            }
            for (int k = 0; k < slices; k++) {
                int slot = k % ring, n = (int) Math.min(slice, floats - (long) k * slice);
                long off = (long) k * slice;
                join(copies[slot]);
                check(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(off * Float.BYTES), pinned[slot], (long) n * Float.BYTES, stream), "cuMemcpyHtoDAsync");
                check(JCudaDriver.cuEventRecord(sliceDone[slot], stream), "cuEventRecord");
                after.slice(off, n, sliceDone[slot]);
                int ahead = k + copierThreads, aheadSlot = ahead % ring;
                if (ahead < slices) {
                    check(JCudaDriver.cuEventSynchronize(sliceDone[aheadSlot]), "cuMemcpyHtoDAsync");
                    copies[aheadSlot] = copy(host, (long) ahead * slice, aheadSlot, slice, true);
                }
            }
        } finally {
            settle(copies);
        }
    }

    /**
     * The device's floats at src to host in slices of {@code slice} floats on {@code stream}, returning once
     * they are all there: page-locked host memory by DMA directly; anything else through the pinned ring,
     * the copier threads copying the slices that have arrived while the DMAs of the next ones run.
     */
    private void fromDevice(CUdeviceptr src, MemorySegment host, int slice, CUstream stream, Leaving before) {
        long floats = host.byteSize() / Float.BYTES;
        if (floats == 0) return;
        pinnedSlices();
        int slices = (int) cdiv(floats, slice);
        if (pageLocked(host)) {
            for (int k = 0; k < slices; k++) {
                int n = (int) Math.min(slice, floats - (long) k * slice);
                long off = (long) k * slice;
                before.slice(off, n);
                check(JCudaDriver.cuMemcpyDtoHAsync(at(host, off, n), src.withByteOffset(off * Float.BYTES), (long) n * Float.BYTES, stream),
                        "cuMemcpyDtoHAsync (or an earlier kernel)");
            }
            check(JCudaDriver.cuStreamSynchronize(stream), "cuMemcpyDtoHAsync (or an earlier kernel)");
            return;
        }
        Future<?>[] copies = new Future<?>[ring];
        try {
            for (int k = 0; k < slices + copierThreads; k++) {
                if (k < slices) {
                    int slot = k % ring, n = (int) Math.min(slice, floats - (long) k * slice);
                    long off = (long) k * slice;
                    join(copies[slot]);
                    check(JCudaDriver.cuEventSynchronize(sliceDone[slot]), "cuMemcpyHtoDAsync");
                    before.slice(off, n);
                    check(JCudaDriver.cuMemcpyDtoHAsync(pinned[slot], src.withByteOffset(off * Float.BYTES), (long) n * Float.BYTES, stream),
                            "cuMemcpyDtoHAsync (or an earlier kernel)");
                    check(JCudaDriver.cuEventRecord(sliceDone[slot], stream), "cuEventRecord");
                }
                int done = k - copierThreads, doneSlot = done % ring;
                if (done >= 0 && done < slices) {
                    check(JCudaDriver.cuEventSynchronize(sliceDone[doneSlot]), "cuMemcpyDtoHAsync (or an earlier kernel)");
                    copies[doneSlot] = copy(host, (long) done * slice, doneSlot, slice, false);
                }
            }
            for (Future<?> c : copies) join(c);
        } finally {
            settle(copies);
        }
    }

    /**
     * Starts copying slice floats (fewer at host's end) between host's floats from off on and pinned slot
     * {@code slot}: on a copier thread, or here when only this thread may access host (a confined arena's).
     */
    private Future<?> copy(MemorySegment host, long off, int slot, int slice, boolean toPinned) {
        long bytes = Math.min(slice, host.byteSize() / Float.BYTES - off) * Float.BYTES;
        MemorySegment pin = pinnedSegment[slot];
        Runnable work = () -> {
            if (toPinned) MemorySegment.copy(host, off * Float.BYTES, pin, 0, bytes);
            else MemorySegment.copy(pin, 0, host, off * Float.BYTES, bytes);
        };
        if (host.isAccessibleBy(NOT_THE_CALLER)) return copiers.submit(work);
        work.run();
        return CompletableFuture.completedFuture(null);
    }

    /** A thread that is not the caller: a host segment it may access, the copier threads may access too. */
    private static final Thread NOT_THE_CALLER = Thread.ofPlatform().unstarted(() -> { });

    private static void join(Future<?> copy) {
        if (copy == null) return;
        try {
            copy.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HydraException("gpu: interrupted during a host transfer");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new HydraException("gpu: host copy failed: " + e.getCause());
        }
    }

    /** After a transfer, also a failed one: no copier still touches a pinned slot or the caller's array. */
    private static void settle(Future<?>[] copies) {
        for (Future<?> c : copies) {
            if (c == null) continue;
            try {
                c.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException ignored) {
                // reported by join, or superseded by the failure being thrown
            }
        }
    }

    /**
     * The rows of x move in slices on {@link #rowStream}, each checked for finiteness on {@link #checkStream}
     * as it lands; the product runs on the default stream in launches of {@link #productRows} rows, each after
     * the slices of its rows, while the host copies the next slices. Every launch computes the same
     * bits as one launch over all rows (an output element's sum does not depend on its row's tile).
     */
    @Override
    public synchronized int linearFromHost(MemorySegment x, int rows, int in, Buf w, Buf bias, int out, Buf y) {
        current();
        if ((long) rows * in * Float.BYTES != x.byteSize())
            throw new HydraException("gpu: linearFromHost of " + rows + " rows of " + in + " from " + x.byteSize() + " bytes");
        if (in > sliceFloats) return Backend.super.linearFromHost(x, rows, in, w, bias, out, y);
        fitsLinear(rows, in, w, bias, out, y);
        DeviceBuf xd = raw((long) rows * in), yd = dev(y);
        try {
            startHostRows();
            int step = productRows(rows, out);
            boolean bf16 = weightsToBf16(in, 0, in, w, out);
            int[] next = {0};  // the first row whose launch is not queued yet
            toDevice(x, xd.ptr, hostRowSlice(rows, in) * in, rowStream, (off, n, arrived) -> {
                check(JCudaDriver.cuStreamWaitEvent(checkStream, arrived, 0), "cuStreamWaitEvent");
                checkFinite(xd.ptr.withByteOffset(off * Float.BYTES), n, off);
                check(JCudaDriver.cuStreamWaitEvent(null, arrived, 0), "cuStreamWaitEvent");
                int landed = (int) ((off + n) / in);
                for (; next[0] < rows && Math.min(rows, next[0] + step) <= landed; next[0] += step)
                    productLaunch(xd.ptr.withByteOffset((long) next[0] * in * Float.BYTES), in, 0, Math.min(step, rows - next[0]), in, w, bias, out,
                            yd.ptr.withByteOffset((long) next[0] * out * Float.BYTES), bf16);
            });
            return firstNonFinite();
        } finally {
            xd.close();
        }
    }

    /**
     * The product runs on the default stream in launches of {@link #productRows} rows, all queued at once,
     * each followed by an event; each slice of y's rows leaves (on {@link #rowStream}, checked on
     * {@link #checkStream}) as soon as the launch that writes its last row is done, and the host copies the slices
     * that have arrived while the later ones move.
     */
    @Override
    public synchronized int linearToHost(Buf x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, Buf y, MemorySegment host) {
        current();
        if ((long) rows * out * Float.BYTES != host.byteSize())
            throw new HydraException("gpu: linearToHost of " + rows + " rows of " + out + " into " + host.byteSize() + " bytes");
        if (out > sliceFloats) return Backend.super.linearToHost(x, xStride, xCol, rows, in, w, bias, out, y, host);
        fits("linear x", x, rows > 0 ? (rows - 1L) * xStride + xCol + in : 0);
        fitsLinear(rows, in, w, bias, out, y);
        DeviceBuf xd = dev(x), yd = dev(y);
        startHostRows();
        int step = productRows(rows, out), products = (int) cdiv(rows, step);
        while (productDone.size() < products) {
            CUevent e = new CUevent();
            check(JCudaDriver.cuEventCreate(e, CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            productDone.add(e);
        }
        boolean bf16 = weightsToBf16(xStride, xCol, in, w, out);
        for (int p = 0; p < products; p++) {
            long r0 = (long) p * step;
            productLaunch(xd.ptr.withByteOffset(r0 * xStride * Float.BYTES), xStride, xCol, (int) Math.min(step, rows - r0), in, w, bias, out,
                    yd.ptr.withByteOffset(r0 * out * Float.BYTES), bf16);
            check(JCudaDriver.cuEventRecord(productDone.get(p), null), "cuEventRecord");
        }
        fromDevice(yd.ptr, host, hostRowSlice(rows, out) * out, rowStream, (off, n) -> {
            int lastRow = (int) ((off + n) / out - 1);
            check(JCudaDriver.cuStreamWaitEvent(rowStream, productDone.get(lastRow / step), 0), "cuStreamWaitEvent");
            check(JCudaDriver.cuStreamWaitEvent(checkStream, productDone.get(lastRow / step), 0), "cuStreamWaitEvent");
            checkFinite(yd.ptr.withByteOffset(off * Float.BYTES), n, off);
        });
        return firstNonFinite();
    }

    /**
     * Before a host-row product: the check's flag exists and is reset, and {@link #rowStream} and
     * {@link #checkStream} wait for the work queued so far (a pooled buffer the transfers write may still
     * be read by that work).
     */
    private void startHostRows() {
        if (firstBad == null) {
            firstBad = raw(1);
            check(JCudaDriver.cuMemAllocHost(firstBadHost, Integer.BYTES), "cuMemAllocHost");
        }
        check(JCudaDriver.cuMemsetD32Async(firstBad.ptr, Integer.MAX_VALUE, 1, null), "cuMemsetD32Async");
        check(JCudaDriver.cuEventRecord(queued, null), "cuEventRecord");
        check(JCudaDriver.cuStreamWaitEvent(rowStream, queued, 0), "cuStreamWaitEvent");
        check(JCudaDriver.cuStreamWaitEvent(checkStream, queued, 0), "cuStreamWaitEvent");
    }

    /** Queues on {@link #checkStream} the check of n floats at {@code at}, element {@code base} of the host rows. */
    private void checkFinite(CUdeviceptr at, int n, long base) {
        launchOn(checkStream, firstNonFinite, Math.min(cdiv(n, THREADS), 4L * multiprocessors), 1, 1, THREADS, 0, at, (long) n, base, firstBad);
    }

    /** Waits for the transfers and the checks; the index of the first non-finite value the checks found, or -1. */
    private int firstNonFinite() {
        check(JCudaDriver.cuMemcpyDtoHAsync(firstBadHost, firstBad.ptr, Integer.BYTES, checkStream), "cuMemcpyDtoHAsync");
        check(JCudaDriver.cuStreamSynchronize(checkStream), "a CUDA kernel");
        check(JCudaDriver.cuStreamSynchronize(rowStream), "cuMemcpyHtoDAsync");
        int i = firstBadHost.getByteBuffer(0, Integer.BYTES).order(ByteOrder.nativeOrder()).getInt(0);
        return i == Integer.MAX_VALUE ? -1 : i;
    }

    /** Rows per pinned slice of a host-row product: about {@link #HOST_ROW_SLICES} slices, each within a pinned buffer. */
    private int hostRowSlice(int rows, int width) {
        long floats = Math.min(sliceFloats, Math.max(MIN_SLICE_FLOATS, (long) rows * width / HOST_ROW_SLICES));
        return (int) Math.max(1, floats / width);
    }

    /**
     * Rows per launch of a host-row product: one wave of 128x128 tiles (two blocks on each
     * multiprocessor) or a sixteenth of the rows, whichever is larger, in whole tiles.
     */
    private int productRows(int rows, int out) {
        if (productRows > 0) return productRows;
        long wave = Math.max(1, 2L * multiprocessors / cdiv(out, 128)) * 128;
        return (int) Math.max(wave, cdiv(cdiv(rows, HOST_ROW_SLICES), 128) * 128);
    }

    /** ints to a new device buffer through the first pinned slice, slice by slice (token ids: small). */
    private DeviceBuf uploadInts(int[] host) {
        DeviceBuf b = raw(host.length);
        pinnedSlices();
        for (int off = 0; off < host.length; off += sliceFloats) {
            int n = Math.min(sliceFloats, host.length - off);
            check(JCudaDriver.cuEventSynchronize(sliceDone[0]), "cuMemcpyHtoDAsync");
            MemorySegment.copy(host, off, pinnedSegment[0], ValueLayout.JAVA_INT, 0, n);
            check(JCudaDriver.cuMemcpyHtoDAsync(b.ptr.withByteOffset((long) off * Integer.BYTES), pinned[0], (long) n * Integer.BYTES, copyStream),
                    "cuMemcpyHtoDAsync");
            check(JCudaDriver.cuEventRecord(sliceDone[0], copyStream), "cuEventRecord");
        }
        return b;
    }

    private DeviceBuf dev(Buf b) {
        if (b instanceof DeviceBuf d && d.owner() == this) {
            if (d.freed) throw new HydraException("gpu: buffer used after close()");
            return d;
        }
        throw new IllegalArgumentException("buffer of another backend passed to the gpu backend: " + (b == null ? "null" : b.getClass().getName()));
    }

    // ---- kernels --------------------------------------------------------------------------------

    private NativePointerObject ptr(Buf b) {
        return b == null ? new CUdeviceptr() : dev(b).ptr;
    }

    private void launch(CUfunction f, long gx, long gy, long gz, int threads, int shared, Object... args) {
        launchOn(null, f, gx, gy, gz, threads, shared, args);
    }

    private void launchOn(CUstream stream, CUfunction f, long gx, long gy, long gz, int threads, int shared, Object... args) {
        if (gx == 0 || gy == 0 || gz == 0) return;
        if (gx > Integer.MAX_VALUE || gy > 65535 || gz > 65535) throw new HydraException("gpu: tensor too large for one launch (grid " + gx + "x" + gy + "x" + gz + ")");
        Pointer[] p = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            p[i] = switch (args[i]) {
                case Buf b -> Pointer.to(ptr(b));
                case NativePointerObject n -> Pointer.to(n);
                case Integer v -> Pointer.to(new int[] {v});
                case Long v -> Pointer.to(new long[] {v});
                case Float v -> Pointer.to(new float[] {v});
                case int[] v -> Pointer.to(v);
                default -> throw new IllegalArgumentException(String.valueOf(args[i]));
            };
        }
        check(JCudaDriver.cuLaunchKernel(f, (int) gx, (int) gy, (int) gz, threads, 1, 1, shared, stream, Pointer.to(p), null), "cuLaunchKernel");
    }

    /** Kernels do not check bounds: every operand must hold what the call's shape reads or writes. */
    private void fits(String what, Buf b, long floats) {
        if (b != null && dev(b).floats < floats)
            throw new HydraException("gpu: " + what + " holds " + dev(b).floats + " floats, the call needs " + floats);
    }

    private static long cdiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public synchronized void linear(Buf x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, Buf y) {
        current();
        fits("linear x", x, rows > 0 ? (rows - 1L) * xStride + xCol + in : 0);
        fitsLinear(rows, in, w, bias, out, y);
        product(dev(x).ptr, xStride, xCol, rows, in, w, bias, out, dev(y).ptr);
    }

    private void fitsLinear(int rows, int in, Buf w, Buf bias, int out, Buf y) {
        fits("linear w", w, (long) out * in);
        fits("linear bias", bias, out);
        fits("linear y", y, (long) rows * out);
    }

    /** {@link #linear} on the default stream, the rows read from x and written to y. */
    private void product(CUdeviceptr x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, CUdeviceptr y) {
        productLaunch(x, xStride, xCol, rows, in, w, bias, out, y, weightsToBf16(xStride, xCol, in, w, out));
    }

    /**
     * Where the bf16 kernel runs a product (the bf16 mode, more than 32 outputs, 16-byte aligned rows): W
     * rounded to bf16 into rows of K rounded up to 32 (zeros beyond K), once for all launches of the product;
     * whether it did.
     */
    private boolean weightsToBf16(int xStride, int xCol, int in, Buf w, int out) {
        if (matmul != Matmul.BF16 || out <= 32 || ((xStride | xCol | in) & 3) != 0) return false;
        int kp = (int) cdiv(in, 32) * 32;
        wBf16 = scratch(wBf16, (long) out * kp / 2);
        launch(toBf16, cdiv((long) out * kp / 4, THREADS), 1, 1, THREADS, 0, w, in, 0, out, in, kp, wBf16);
        return true;
    }

    /** One launch of a product over rows of x; {@code bf16}: W is in {@link #wBf16} ({@link #weightsToBf16}). */
    private void productLaunch(CUdeviceptr x, int xStride, int xCol, int rows, int in, Buf w, Buf bias, int out, CUdeviceptr y, boolean bf16) {
        Object b = bias == null ? new CUdeviceptr() : bias;
        if (bf16) productBf16(x, xStride, xCol, rows, in, b, out, y);
        else if (out <= 32) launch(linearSkinny, cdiv(rows, 128), 1, 1, 128, 0, x, xStride, xCol, rows, in, w, b, out, y, ((xStride | xCol | in) & 3) == 0 ? 1 : 0);
        else if (matmul == Matmul.FFMA || ((xStride | xCol | in) & 3) != 0) launch(linear, cdiv(out, 128), cdiv(rows, 128), 1, THREADS, 0, x, xStride, xCol, rows, in, w, b, out, y);
        else launch(linearTc, cdiv(out, 128), cdiv(rows, 128), 1, THREADS, TC_SHARED_BYTES, x, xStride, xCol, rows, in, w, b, out, y, matmul == Matmul.TF32X3 ? 1 : 0);
    }

    /** x's rows rounded to bf16 into rows of K rounded up to 32 (zeros beyond K), then their product with {@link #wBf16}. */
    private void productBf16(CUdeviceptr x, int xStride, int xCol, int rows, int in, Object b, int out, CUdeviceptr y) {
        int kp = (int) cdiv(in, 32) * 32;
        xBf16 = scratch(xBf16, (long) rows * kp / 2);
        launch(toBf16, cdiv((long) rows * kp / 4, THREADS), 1, 1, THREADS, 0, x, xStride, xCol, rows, in, kp, xBf16);
        launch(linearBf16, cdiv(out, 128), cdiv(rows, 128), 1, THREADS, BF16_SHARED_BYTES, xBf16, wBf16, rows, kp, b, out, y);
    }

    @Override
    public synchronized void convSilu(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst) {
        conv(src, srcStride, srcCol, seqs, channels, w, bias, k, dst, true);
    }

    @Override
    public synchronized void depthwiseConv(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst) {
        conv(src, srcStride, srcCol, seqs, channels, w, bias, k, dst, false);
    }

    /** The conv kernel once per run of equal lengths, on the run's rows. */
    private void conv(Buf src, int srcStride, int srcCol, Sequences seqs, int channels, Buf w, Buf bias, int k, Buf dst, boolean silu) {
        current();
        long rows = seqs.rows();
        fits("conv src", src, rows > 0 ? (rows - 1) * srcStride + srcCol + channels : 0);
        fits("conv w", w, (long) channels * k);
        fits("conv bias", bias, channels);
        fits("conv dst", dst, rows * channels);
        // 4 channels a thread (16-byte accesses) when rows and columns are 16-byte aligned and the kernel's width fits 8
        int vec = ((srcStride | srcCol | channels) & 3) == 0 && k <= 8 ? 4 : 1;
        for (Sequences.Run run : seqs.runs())
            launch(convSilu, run.count() * cdiv(run.len(), CONV_T), cdiv(channels, 64L * vec), 1, 64, 0, at(src, (long) run.firstRow() * srcStride),
                    srcStride, srcCol, run.count(), run.len(), channels, w, bias == null ? new CUdeviceptr() : bias, k,
                    at(dst, (long) run.firstRow() * channels), silu ? 1 : 0, vec == 4 ? 1 : 0);
    }

    /** b's device pointer {@code floats} floats in: where a run of a packed batch starts. */
    private CUdeviceptr at(Buf b, long floats) {
        return dev(b).ptr.withByteOffset(floats * Float.BYTES);
    }

    @Override
    public synchronized void softplusDt(Buf src, int srcStride, int srcCol, int rows, int heads, Buf dtBias, float lo, float hi, Buf dst) {
        current();
        fits("softplusDt src", src, rows > 0 ? (rows - 1L) * srcStride + srcCol + heads : 0);
        fits("softplusDt dtBias", dtBias, heads);
        fits("softplusDt dst", dst, (long) rows * heads);
        launch(softplusDt, cdiv((long) rows * heads, THREADS), 1, 1, THREADS, 0, src, srcStride, srcCol, rows, heads, dtBias, lo, hi, dst);
    }

    @Override
    public synchronized void ssdScan(ScanLayout s, Buf xbc, Buf dt, Buf a, Buf init, Buf y) {
        current();
        int P = s.headdim(), N = s.state(), H = s.heads();
        if (s.chunk() > 8192) throw new HydraException("gpu: chunk_size " + s.chunk() + " is above the CUDA kernels' limit of 8192");
        long rows = s.seqs().rows(), GN = (long) s.groups() * N;
        long xbcWidth = Math.max(s.xCol() + (long) H * P, Math.max(s.bCol(), s.cCol()) + GN);
        fits("ssdScan xbc", xbc, rows > 0 ? (rows - 1) * s.xbcStride() + xbcWidth : 0);
        fits("ssdScan dt", dt, rows > 0 ? (rows - 1) * s.dtStride() + s.dtCol() + H : 0);
        fits("ssdScan a", a, H);
        fits("ssdScan init", init, (long) H * P * N);
        fits("ssdScan y", y, rows * H * P);
        // the kernels take one (batch, len) per launch: one scan per run of equal lengths
        for (Sequences.Run run : s.seqs().runs()) scanRun(s, run, xbc, dt, a, init, y);
    }

    /** The scan's kernels on the run's rows [firstRow, firstRow + count*len), a (count, len) batch. */
    private void scanRun(ScanLayout s, Sequences.Run run, Buf xbc, Buf dt, Buf a, Buf init, Buf y) {
        int Q = Math.min(s.chunk(), run.len()), P = s.headdim(), N = s.state(), H = s.heads(), B = run.count();
        int nc = (int) cdiv(run.len(), Q);
        long cumFloats = (long) B * H * nc * Q, stateFloats = (long) B * nc * H * P * N;
        int d = s.forward() ? 0 : 1;
        CUstream st = scanStream[d];
        DeviceBuf cumD = cum[d] = scratch(cum[d], cumFloats), statesD = states[d] = scratch(states[d], stateFloats);
        int[] layout = {B, run.len(), H, P, s.groups(), N, Q, s.xbcStride(), s.xCol(), s.bCol(), s.cCol(), s.dtStride(), s.dtCol(), s.forward() ? 1 : 0};
        long bh = (long) B * H;
        lap(-1);
        // the run's rows [firstRow, firstRow + B*L) as the kernels' rows from 0
        CUdeviceptr xbcRun = at(xbc, (long) run.firstRow() * s.xbcStride()), dtRun = at(dt, (long) run.firstRow() * s.dtStride()),
                yRun = at(y, (long) run.firstRow() * H * P);
        launchOn(st, cumsum, nc, H, B, THREADS, Q * Float.BYTES, layout, dtRun, a, cumD);
        lap(0);
        int split = matmul == Matmul.BF16 ? 2 : 1;
        if (matmul == Matmul.FFMA) launchOn(st, chunkState, nc, cdiv(P, TILE) * cdiv(N, TILE), bh, THREADS, 0, layout, xbcRun, dtRun, cumD, statesD);
        else launchOn(st, chunkStateTc, (long) nc * H, cdiv(P, TILE) * cdiv(N, TILE), B, THREADS, CHUNK_STATE_TC_SHARED_BYTES, layout, xbcRun, dtRun, cumD, statesD, split);
        lap(1);
        launchOn(st, statePass, cdiv((long) P * N, THREADS), H, B, THREADS, 0, layout, cumD, init == null ? new CUdeviceptr() : init, statesD, nc);
        lap(2);
        int tcShared = chunkOutputSharedBytes(N);
        if (matmul == Matmul.FFMA || tcShared > MAX_SHARED_BYTES)
            launchOn(st, chunkOutput, nc * cdiv(Q, TILE), cdiv(P, TILE), bh, THREADS, 0, layout, xbcRun, dtRun, cumD, statesD, yRun, nc);
        else {
            // C B^T of each causal pair of 64-step tiles, once per (batch, chunk, group), for all the group's heads
            int tiles = (int) cdiv(Q, TILE), pairs = tiles * (tiles + 1) / 2;
            DeviceBuf scoresD = scores[d] = scratch(scores[d], (long) B * nc * s.groups() * pairs * TILE * TILE);
            int scoresShared = 2 * TILE * stateTilePitch(N) * Float.BYTES;
            chunkScoresShared = raiseShared(chunkScores, scoresShared, chunkScoresShared, "ssd_chunk_scores_kernel");
            launchOn(st, chunkScores, (long) nc * pairs, s.groups(), B, THREADS, scoresShared, layout, xbcRun, scoresD, nc, split);
            lap(3);
            chunkOutputTcShared = raiseShared(chunkOutputTc, tcShared, chunkOutputTcShared, "ssd_chunk_output_tc_kernel");
            launchOn(st, chunkOutputTc, nc * cdiv(Q, TILE) * H, cdiv(P, TILE), B, THREADS, tcShared, layout, xbcRun, dtRun, cumD, statesD, scoresD,
                    yRun, nc, split);
        }
        lap(4);
    }

    /** Raises f's dynamic shared memory limit from {@code now} to {@code bytes} when it is larger; the new limit. */
    private static int raiseShared(CUfunction f, int bytes, int now, String kernel) {
        if (bytes <= now) return now;
        check(JCudaDriver.cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "raising " + kernel + "'s shared memory");
        return bytes;
    }

    /** Wall ms spent in the scan's kernels (cumsum, chunk states, state passing, chunk scores, chunk output) while profiling. */
    private double[] scanProfile;
    private long lapStart;

    /** Starts (non-null) or stops (null) timing the scan's kernels one by one, synchronizing after each. */
    synchronized void profileScan(double[] msPerKernel) {
        scanProfile = msPerKernel;
    }

    private void lap(int kernel) {
        if (scanProfile == null) return;
        check(JCudaDriver.cuCtxSynchronize(), "a CUDA kernel");
        long now = System.nanoTime();
        if (kernel >= 0) scanProfile[kernel] += (now - lapStart) / 1e6;
        lapStart = now;
    }

    /** Pitch of the scan kernels' tiles of d_state columns (stateTilePitch in hydra.cu). */
    private static int stateTilePitch(int n) {
        return Math.max((n + 15) / 16 * 16 + 4, TILE + 4);
    }

    /** ssd_chunk_output_tc_kernel's shared memory: C_i and S (64 rows x pitch each; then G), two X_j stages (64 x 68), 64 cums. */
    private static int chunkOutputSharedBytes(int n) {
        return (2 * TILE * stateTilePitch(n) + 2 * TILE * (TILE + 4) + TILE) * Float.BYTES;
    }

    /** A work buffer kept across calls, grown when a larger one is needed. */
    private DeviceBuf scratch(DeviceBuf old, long floats) {
        if (old != null && old.floats >= floats) return old;
        if (old != null) old.close();
        return raw(floats);
    }

    @Override
    public synchronized void shiftAddDiagonal(Sequences seqs, int heads, int headdim, Buf yF, Buf yB, Buf x, int xStride, Buf delta, Buf out) {
        current();
        long rows = seqs.rows(), D = (long) heads * headdim, n = rows * D;
        fits("shiftAddDiagonal yF", yF, n);
        fits("shiftAddDiagonal yB", yB, n);
        fits("shiftAddDiagonal x", x, rows > 0 ? (rows - 1) * xStride + (long) heads * headdim : 0);
        fits("shiftAddDiagonal delta", delta, rows * heads);
        fits("shiftAddDiagonal out", out, n);
        for (Sequences.Run run : seqs.runs()) {
            long r0 = run.firstRow();
            launch(shiftAdd, cdiv(run.rows() * D, THREADS), 1, 1, THREADS, 0, run.count(), run.len(), heads, headdim, at(yF, r0 * D),
                    at(yB, r0 * D), at(x, r0 * xStride), xStride, at(delta, r0 * heads), at(out, r0 * D));
        }
    }

    @Override
    public synchronized void gatedRmsNorm(Buf y, int rows, int dim, Buf z, int zStride, int zCol, Buf weight, float eps, Buf out) {
        current();
        fits("gatedRmsNorm y", y, (long) rows * dim);
        fits("gatedRmsNorm z", z, rows > 0 ? (rows - 1L) * zStride + zCol + dim : 0);
        fits("gatedRmsNorm weight", weight, dim);
        fits("gatedRmsNorm out", out, (long) rows * dim);
        launch(rmsNorm, rows, 1, 1, THREADS, 0, y, rows, dim, z, zStride, zCol, weight, eps, out);
    }

    @Override
    public synchronized void shiftAddDiagonalNorm(Sequences seqs, int heads, int headdim, Buf yF, Buf yB, Buf x, int xStride, Buf delta,
                                                  Buf z, int zStride, int zCol, Buf weight, float eps, Buf mix, Buf out) {
        current();
        long rows = seqs.rows(), D = (long) heads * headdim, n = rows * D;
        fits("shiftAddDiagonalNorm yF", yF, n);
        fits("shiftAddDiagonalNorm yB", yB, n);
        fits("shiftAddDiagonalNorm x", x, rows > 0 ? (rows - 1) * xStride + D : 0);
        fits("shiftAddDiagonalNorm delta", delta, rows * heads);
        fits("shiftAddDiagonalNorm z", z, rows > 0 ? (rows - 1) * zStride + zCol + D : 0);
        fits("shiftAddDiagonalNorm weight", weight, D);
        fits("shiftAddDiagonalNorm mix", mix, n);
        fits("shiftAddDiagonalNorm out", out, n);
        // float4 accesses when every row start, column and head boundary is 16-byte aligned
        int vec4 = ((headdim | xStride | zStride | zCol) & 3) == 0 ? 1 : 0;
        for (Sequences.Run run : seqs.runs()) {
            long r0 = run.firstRow();
            launch(shiftNorm, run.rows(), 1, 1, 128, 0, run.len(), heads, headdim, at(yF, r0 * D), at(yB, r0 * D), at(x, r0 * xStride), xStride,
                    at(delta, r0 * heads), at(z, r0 * zStride), zStride, zCol, weight, eps, mix == null ? new CUdeviceptr() : at(mix, r0 * D),
                    at(out, r0 * D), vec4);
        }
    }

    // ---- the encoder around the mixers ------------------------------------------------------------

    @Override
    public synchronized void embed(int[] ids, int[] typeIds, Sequences seqs, Buf word, Buf type, Buf pos, int d, Buf out) {
        current();
        int rows = seqs.rows();
        fits("embed out", out, (long) rows * d);
        // per run of equal lengths, its ids then its type ids, as the kernel reads one run
        int[] tokens = new int[2 * rows];
        for (Sequences.Run run : seqs.runs()) {
            System.arraycopy(ids, run.firstRow(), tokens, 2 * run.firstRow(), run.rows());
            System.arraycopy(typeIds, run.firstRow(), tokens, 2 * run.firstRow() + run.rows(), run.rows());
        }
        DeviceBuf tb = uploadInts(tokens);
        try {
            for (Sequences.Run run : seqs.runs())
                launch(embed, run.rows(), 1, 1, THREADS, 0, at(tb, 2L * run.firstRow()), run.rows(), run.len(), word, type,
                        pos == null ? new CUdeviceptr() : pos, d, at(out, (long) run.firstRow() * d));
        } finally {
            tb.close();
        }
    }

    @Override
    public synchronized void layerNorm(Buf x, int rows, int d, Buf w, Buf b, float eps, Buf out) {
        current();
        fits("layerNorm x", x, (long) rows * d);
        fits("layerNorm w", w, d);
        fits("layerNorm b", b, d);
        fits("layerNorm out", out, (long) rows * d);
        launch(layerNorm, rows, 1, 1, THREADS, 0, x, rows, d, w, b, eps, out);
    }

    @Override
    public synchronized void addInPlace(Buf acc, Buf x, long n) {
        current();
        fits("addInPlace acc", acc, n);
        fits("addInPlace x", x, n);
        launch(addInPlace, cdiv(n, THREADS), 1, 1, THREADS, 0, acc, x, n);
    }

    @Override
    public synchronized void maskRows(Buf x, int rows, int d, Buf mask, Buf out) {
        current();
        long n = (long) rows * d;
        fits("maskRows x", x, n);
        fits("maskRows mask", mask, rows);
        fits("maskRows out", out, n);
        launch(maskRows, cdiv(n, THREADS), 1, 1, THREADS, 0, x, rows, d, mask, out);
    }

    @Override
    public synchronized void poolRows(Buf h, Sequences seqs, int d, Buf mask, boolean mean, Buf out) {
        current();
        fits("poolRows h", h, (long) seqs.rows() * d);
        fits("poolRows mask", mask, seqs.rows());
        fits("poolRows out", out, (long) seqs.count() * d);
        for (Sequences.Run run : seqs.runs())
            launch(poolRows, run.count(), 1, 1, THREADS, 0, at(h, (long) run.firstRow() * d), run.count(), run.len(), d,
                    at(mask, run.firstRow()), mean ? 1 : 0, at(out, (long) run.first() * d));
    }

    @Override
    public synchronized void activate(Buf x, long n, Activation f) {
        current();
        fits("activate x", x, n);
        launch(activate, cdiv(n, THREADS), 1, 1, THREADS, 0, x, n, f == Activation.TANH ? 0 : 1);
    }

    /** Free device memory plus the bytes held in this backend's pool of freed buffers. */
    @Override
    public synchronized long availableBytes() {
        long pooled = 0;
        for (var e : pool.entrySet()) pooled += e.getKey() * e.getValue().size();
        return memoryInfo()[0] + pooled;
    }

    @Override
    public String memoryName() {
        return "the gpu";
    }

    @Override
    public boolean bf16Products() {
        return matmul == Matmul.BF16;
    }

    /** Frees every device buffer of this backend (also those not closed yet) and the pinned slices. */
    @Override
    public synchronized void close() {
        if (closed) return;
        current();
        trimPool();
        for (DeviceBuf b : live) JCudaDriver.cuMemFree(b.ptr);
        live.clear();
        for (int i = 0; i < ring && pinned[i] != null; i++) {
            JCudaDriver.cuEventDestroy(sliceDone[i]);
            JCudaDriver.cuMemFreeHost(pinned[i]);
        }
        if (firstBad != null) JCudaDriver.cuMemFreeHost(firstBadHost);
        for (CUevent e : productDone) JCudaDriver.cuEventDestroy(e);
        JCudaDriver.cuEventDestroy(queued);
        JCudaDriver.cuStreamDestroy(rowStream);
        JCudaDriver.cuStreamDestroy(checkStream);
        JCudaDriver.cuStreamDestroy(copyStream);
        for (CUstream st : scanStream) JCudaDriver.cuStreamDestroy(st);
        JCudaDriver.cuModuleUnload(module);
        copiers.shutdown();
        closed = true;
    }
}
