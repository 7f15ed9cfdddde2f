package dev.hydra.gpu;

import org.junit.jupiter.api.Assumptions;

/** Test support: skips a test, saying why, where the CUDA backend cannot run. */
final class Gpu {
    private Gpu() {}

    static CudaBackend backend() {
        return backend(CudaBackend.Matmul.TF32X3);
    }

    static CudaBackend backend(CudaBackend.Matmul matmul) {
        available();
        return new CudaBackend(matmul);
    }

    /** With pinned slices of {@code sliceFloats} and host-row products in launches of {@code productRows} rows. */
    static CudaBackend backend(CudaBackend.Matmul matmul, int sliceFloats, int productRows) {
        available();
        return new CudaBackend(matmul, sliceFloats, productRows);
    }

    private static void available() {
        String why = CudaDriver.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "no GPU test: " + why);
    }

}
