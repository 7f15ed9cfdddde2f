package dev.hydra.gpu;

import dev.hydra.backend.Backend;
import dev.hydra.backend.BackendProvider;
import dev.hydra.weights.Precision;

/** Registers the CUDA backend as {@code gpu} for {@link dev.hydra.runtime.Backends}. */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "gpu";
    }

    @Override
    public String unavailableReason() {
        return CudaDriver.unavailableReason();
    }

    @Override
    public Backend create() {
        return new CudaBackend();
    }

    /** fp32 in the default (or {@code -Dhydra.gpu.matmul}) mode; bf16 on the tensor cores. */
    @Override
    public Backend create(Precision<?> precision) {
        return precision == Precision.BF16 ? new CudaBackend(CudaBackend.Matmul.BF16) : BackendProvider.super.create(precision);
    }
}
