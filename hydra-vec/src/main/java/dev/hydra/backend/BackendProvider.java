package dev.hydra.backend;

import dev.hydra.HydraException;
import dev.hydra.weights.Precision;

/**
 * A backend that lives in another module (the CUDA backend in hydra-gpu), found through
 * {@link java.util.ServiceLoader} so that this library does not depend on it.
 */
public interface BackendProvider {
    /** The name users select it by, e.g. {@code "gpu"}. */
    String name();

    /** Null when the backend can run here; otherwise one line saying why not (no driver, no device, ...). */
    String unavailableReason();

    Backend create();

    /** A backend computing in {@code precision} (fp32 or bf16), or a one-line error when this backend has no such mode. */
    default Backend create(Precision<?> precision) {
        if (precision == Precision.FP32) return create();
        throw new HydraException("backend '" + name() + "' has no " + precision + " mode");
    }
}
