package dev.hydra.gpu;

import org.junit.jupiter.api.Assumptions;

/** Test support: skips a test, saying why, where the CUDA backend cannot run. */
final class Gpu {
    private Gpu() {}

    static CudaBackend backend() {
        return backend(CudaBackend.Matmul.TF32X3);
    }

    static CudaBackend backend(CudaBackend.Matmul matmul) {
        String why = CudaDriver.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "no GPU test: " + why);
        return new CudaBackend(matmul);
    }

}
