package dev.hydra.gpu;

import dev.hydra.backend.Backend;
import dev.hydra.backend.BackendProvider;

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
}
