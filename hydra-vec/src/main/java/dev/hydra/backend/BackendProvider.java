package dev.hydra.backend;

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
}
