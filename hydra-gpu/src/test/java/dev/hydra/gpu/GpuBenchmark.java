package dev.hydra.gpu;

import dev.hydra.HydraException;
import dev.hydra.backend.Buf;
import dev.hydra.backend.ScanLayout;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;
import dev.hydra.config.HydraConfig;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The GPU benchmark of the issue: the Hydra layer with d_model 768 and the release's defaults
 * (d_state 64, headdim 64, expand 2, chunk 256), fp32, for (B, L) in (8, 512), (32, 128), (1, 8192),
 * (1, 65536); device-resident and with host transfers (into the caller's output array, into a new
 * one, and between page-locked segments from {@link CudaBackend#allocateHost}); median of {@value #REPS} timed calls after {@value #WARMUP} warm-ups, each call ended by a device
 * synchronize; the plain upload and download of the input's size (the with-transfers call overlaps its
 * transfers with the first and last products instead) and the copy engine's rate from pinned memory;
 * then a per-operator breakdown (with the two host-row products alone); for
 * each way of running the products ({@link CudaBackend.Matmul}, bf16 included). Each measurement is
 * also printed as one {@code RESULT mode B L resident_ms transfers_ms transfers_new_array_ms transfers_pinned_ms} line,
 * which {@code scripts/gpu-compare.py} sets beside the release's {@code bench.py} figures.
 * Run: {@code java --add-modules jdk.incubator.vector -cp ... dev.hydra.gpu.GpuBenchmark [MODE...]}.
 */
public final class GpuBenchmark {
    private static final int WARMUP = 5, REPS = 30;
    private static final int[][] SHAPES = {{8, 512}, {32, 128}, {1, 8192}, {1, 65536}}, BREAKDOWN_SHAPES = {{8, 512}, {1, 8192}, {1, 65536}};
    /** Ceilings measured on the H200 here: device-to-device copy, and the datasheet's FFMA rate. */
    private static final double COPY_GBS = 4300, FP32_GFLOPS = 67000;

    private GpuBenchmark() {}

    /** Arguments: the {@link CudaBackend.Matmul} modes to run (default: all four). */
    public static void main(String[] args) {
        String[] modes = args.length > 0 ? args : new String[] {"TF32X3", "TF32", "BF16", "FFMA"};
        StringBuilder tables = new StringBuilder();
        try {
            for (String m : modes) tables.append(run(CudaBackend.Matmul.parse(m)));
        } catch (HydraException e) {
            System.err.println("hydra-gpu benchmark: " + e.getMessage());
            System.exit(1);
        }
        System.out.print(tables);
    }

    private static String run(CudaBackend.Matmul mode) {
        HydraConfig cfg = HydraConfig.defaults(768);
        try (CudaBackend gpu = new CudaBackend(mode);
             HydraLayer layer = new HydraLayer(HydraWeights.load(cfg, HydraWeights.seeded(cfg, 1), "", mode == CudaBackend.Matmul.BF16 ? Precision.BF16 : Precision.FP32), gpu)) {
            System.out.println("device: " + gpu.name() + ", projections " + mode + ", JDK " + Runtime.version());
            System.out.println(pinnedCopyRates(gpu));
            StringBuilder table = new StringBuilder(String.format("%nprojections: %s%n" +
                    "| B | L | device-resident ms | with transfers ms | ratio | with transfers, new output array ms | pinned host segments ms | ratio " +
                    "| upload ms | download ms | GFLOP/s | %% of FP32 FFMA | est. GB/s | %% of copy BW |%n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|%n", mode));
            for (int i = 0; i < SHAPES.length; i++) {
                int b = SHAPES[i][0], l = SHAPES[i][1];
                float[] u = new float[b * l * cfg.dModel()];
                SplittableRandom r = new SplittableRandom(i);
                for (int j = 0; j < u.length; j++) u[j] = (float) r.nextGaussian();
                double resident, transfers;
                try (Buf ub = gpu.upload(u); Buf out = gpu.allocate(u.length); Workspace ws = new Workspace(gpu)) {
                    resident = median(() -> {
                        layer.forward(ub, out, Sequences.uniform(b, l), ws);
                        gpu.synchronize();
                    });
                }
                float[] out = new float[u.length];
                transfers = median(() -> layer.forward(u, b, l, out));
                double newArray = median(() -> layer.forward(u, b, l));
                double pinned;
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment in = gpu.allocateHost(u.length, arena), outPinned = gpu.allocateHost(u.length, arena);
                    MemorySegment.copy(u, 0, in, ValueLayout.JAVA_FLOAT, 0, u.length);
                    pinned = median(() -> layer.forward(in, b, l, outPinned));
                }
                double up = median(() -> gpu.upload(u).close());
                double down;
                try (Buf ub = gpu.upload(u)) {
                    float[] host = new float[u.length];
                    down = median(() -> gpu.download(ub, host));
                }
                System.out.printf("RESULT %s %d %d %.3f %.3f %.3f %.3f%n", mode, b, l, resident, transfers, newArray, pinned);
                double flops = flops(cfg, b, l), bytes = bytes(cfg, b, l);
                double gflops = flops / resident / 1e6, gbs = bytes / resident / 1e6;
                table.append(String.format("| %d | %d | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f | %.2f | %.2f | %.0f | %.1f%% | %.0f | %.1f%% |%n", b, l, resident,
                        transfers, transfers / resident, newArray, pinned, pinned / resident, up, down, gflops, 100 * gflops / FP32_GFLOPS, gbs, 100 * gbs / COPY_GBS));
            }
            for (int[] shape : BREAKDOWN_SHAPES) System.out.println(breakdown(gpu, cfg, shape[0], shape[1]));
            System.out.print(table);
            return table.toString();
        }
    }

    /** The copy engine alone: 256 MiB between pinned host memory and the device, each way, GB/s. */
    private static String pinnedCopyRates(CudaBackend gpu) {
        long bytes = 256L << 20;
        gpu.synchronize();  // makes the backend's context current on this thread
        Pointer host = new Pointer();
        CUdeviceptr dev = new CUdeviceptr();
        CudaDriver.check(JCudaDriver.cuMemAllocHost(host, bytes), "cuMemAllocHost");
        CudaDriver.check(JCudaDriver.cuMemAlloc(dev, bytes), "cuMemAlloc");
        try {
            double up = median(() -> CudaDriver.check(JCudaDriver.cuMemcpyHtoD(dev, host, bytes), "cuMemcpyHtoD"));
            double down = median(() -> CudaDriver.check(JCudaDriver.cuMemcpyDtoH(host, dev, bytes), "cuMemcpyDtoH"));
            return String.format("pinned copies of 256 MiB: host to device %.1f GB/s, device to host %.1f GB/s", bytes / up / 1e6, bytes / down / 1e6);
        } finally {
            JCudaDriver.cuMemFree(dev);
            JCudaDriver.cuMemFreeHost(host);
        }
    }

    /** Median wall time in ms of {@code call}, which ends with the device idle. */
    private static double median(Runnable call) {
        for (int i = 0; i < WARMUP; i++) call.run();
        double[] t = new double[REPS];
        for (int i = 0; i < REPS; i++) {
            long t0 = System.nanoTime();
            call.run();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(t);
        return t[REPS / 2];
    }

    /** Useful FLOPs: the three projections and the chunked SSD in two directions (C.B^T once per group). */
    static double flops(HydraConfig c, int b, int l) {
        double rows = (double) b * l, q = Math.min(c.chunkSize(), l), H = c.nheads(), P = c.headdim(), N = c.dState(), G = c.ngroups();
        double gemm = 2 * rows * ((double) c.dModel() * c.projDim() + (double) c.dInner() * c.dModel() + (double) c.dInner() * H);
        double ssd = 2 * rows * (q / 2 * N * G + q / 2 * P * H + 2 * P * N * H);
        return gemm + 2 * ssd;
    }

    /** Bytes this operator pipeline moves through device memory (each operator's reads and writes, weights once). */
    static double bytes(HydraConfig c, int b, int l) {
        double rows = (double) b * l, dm = c.dModel(), proj = c.projDim(), cd = c.convDim(), di = c.dInner(), H = c.nheads();
        double perRow = dm + proj          // in_proj
                + cd + cd + 2 * H + 2 * H  // conv, dt
                + 2 * (cd + di)            // two scans
                + cd + H                   // fc_D
                + 4 * di + H + di          // shift + diagonal + gated norm, one pass
                + di + dm;                 // out_proj
        double states = 2 * 3 * (double) b * Math.ceil((double) l / c.chunkSize()) * H * c.headdim() * c.dState();
        double weights = proj * dm + di * dm + H * di;
        return 4 * (rows * perRow + states + weights);
    }

    /** Median ms of each operator of one forward pass on device buffers of the given shape. */
    private static String breakdown(CudaBackend gpu, HydraConfig c, int b, int l) {
        int rows = b * l, H = c.nheads(), GN = c.ngroups() * c.dState(), dIn = c.dInner(), proj = c.projDim();
        try (Buf u = gpu.allocate((long) rows * c.dModel()); Buf inW = gpu.allocate((long) proj * c.dModel());
             Buf zx = gpu.allocate((long) rows * proj); Buf convW = gpu.allocate((long) c.convDim() * c.dConv());
             Buf xbc = gpu.allocate((long) rows * c.convDim()); Buf dtB = gpu.allocate(2L * H); Buf dt = gpu.allocate((long) rows * 2 * H);
             Buf a = gpu.upload(filled(H, -1f)); Buf y = gpu.allocate((long) rows * dIn); Buf fcD = gpu.allocate((long) H * dIn);
             Buf delta = gpu.allocate((long) rows * H); Buf mix = gpu.allocate((long) rows * dIn); Buf normW = gpu.allocate(dIn);
             Buf outW = gpu.allocate((long) c.dModel() * dIn); Buf out = gpu.allocate((long) rows * c.dModel()); Arena arena = Arena.ofConfined()) {
            ScanLayout fwd = new ScanLayout(Sequences.uniform(b, l), H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(), c.convDim(), 0, dIn, dIn + GN, 2 * H, 0, true);
            ScanLayout bwd = new ScanLayout(Sequences.uniform(b, l), H, c.headdim(), c.ngroups(), c.dState(), c.chunkSize(), c.convDim(), 0, dIn + 2 * GN, dIn + 3 * GN, 2 * H, H, false);
            gpu.softplusDt(zx, proj, proj - 2 * H, rows, 2 * H, dtB, 0f, Float.POSITIVE_INFINITY, dt);
            MemorySegment uHost = MemorySegment.ofArray(new float[rows * c.dModel()]), outHost = MemorySegment.ofArray(new float[rows * c.dModel()]);
            MemorySegment uPinned = gpu.allocateHost((long) rows * c.dModel(), arena), outPinned = gpu.allocateHost((long) rows * c.dModel(), arena);
            String[] names = {"in_proj", "conv+silu", "dt", "scan fwd", "scan bwd", "fc_D", "shift+diag", "gated norm", "shift+diag+norm", "out_proj",
                    "in_proj from host", "out_proj to host", "in_proj from pinned host", "out_proj to pinned host"};
            Runnable[] ops = {
                    () -> gpu.linear(u, c.dModel(), 0, rows, c.dModel(), inW, null, proj, zx),
                    () -> gpu.convSilu(zx, proj, dIn, Sequences.uniform(b, l), c.convDim(), convW, null, c.dConv(), xbc),
                    () -> gpu.softplusDt(zx, proj, proj - 2 * H, rows, 2 * H, dtB, 0f, Float.POSITIVE_INFINITY, dt),
                    () -> gpu.ssdScan(fwd, xbc, dt, a, null, y),
                    () -> gpu.ssdScan(bwd, xbc, dt, a, null, y),
                    () -> gpu.linear(xbc, c.convDim(), 0, rows, dIn, fcD, null, H, delta),
                    () -> gpu.shiftAddDiagonal(Sequences.uniform(b, l), H, c.headdim(), y, y, xbc, c.convDim(), delta, mix),
                    () -> gpu.gatedRmsNorm(mix, rows, dIn, zx, proj, 0, normW, 1e-5f, y),
                    () -> gpu.shiftAddDiagonalNorm(Sequences.uniform(b, l), H, c.headdim(), y, y, xbc, c.convDim(), delta, zx, proj, 0, normW,
                            1e-5f, null, mix),
                    () -> gpu.linear(y, dIn, 0, rows, dIn, outW, null, c.dModel(), out),
                    () -> gpu.linearFromHost(uHost, rows, c.dModel(), inW, null, proj, zx),
                    () -> gpu.linearToHost(y, dIn, 0, rows, dIn, outW, null, c.dModel(), out, outHost),
                    () -> gpu.linearFromHost(uPinned, rows, c.dModel(), inW, null, proj, zx),
                    () -> gpu.linearToHost(y, dIn, 0, rows, dIn, outW, null, c.dModel(), out, outPinned)};
            StringBuilder s = new StringBuilder("operators, B=" + b + " L=" + l + " (ms):");
            for (int i = 0; i < ops.length; i++) {
                Runnable op = ops[i];
                s.append(String.format(" %s %.3f;", names[i], median(() -> {
                    op.run();
                    gpu.synchronize();
                })));
            }
            double[] scan = new double[5];
            gpu.profileScan(scan);
            for (int i = 0; i < REPS; i++) ops[3].run();
            gpu.profileScan(null);
            s.append(String.format("%n  scan fwd kernels (mean ms): cumsum %.3f; chunk states %.3f; state passing %.3f; chunk scores %.3f; chunk output %.3f",
                    scan[0] / REPS, scan[1] / REPS, scan[2] / REPS, scan[3] / REPS, scan[4] / REPS));
            return s.toString();
        }
    }

    private static float[] filled(int n, float v) {
        float[] f = new float[n];
        Arrays.fill(f, v);
        return f;
    }
}
