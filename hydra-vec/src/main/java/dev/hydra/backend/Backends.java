package dev.hydra.backend;

import dev.hydra.HydraException;
import dev.hydra.kernels.ScalarBackend;

import java.util.ServiceLoader;

/** Chooses a backend by name: {@code cpu}, {@code scalar}, {@code gpu} or {@code auto}. */
public final class Backends {
    private Backends() {}

    /** The fastest CPU backend available in this JVM. */
    public static Backend cpu() {
        return new ScalarBackend();
    }

    public static Backend named(String name) {
        return switch (name) {
            case "cpu" -> cpu();
            case "scalar" -> new ScalarBackend();
            case "auto" -> auto();
            default -> {
                BackendProvider p = provider(name);
                if (p == null) throw new HydraException("backend '" + name + "' is not available in this build (known: cpu, scalar, gpu, auto)");
                String why = p.unavailableReason();
                if (why != null) throw new HydraException("backend '" + name + "' cannot run here: " + why);
                yield p.create();
            }
        };
    }

    /** The GPU backend when it can run here, else the CPU backend (saying why once on stderr). */
    public static Backend auto() {
        BackendProvider gpu = provider("gpu");
        String why = gpu == null ? "hydra-gpu is not on the class path" : gpu.unavailableReason();
        if (why == null) return gpu.create();
        System.err.println("hydra: using the CPU backend (" + why + ")");
        return cpu();
    }

    private static BackendProvider provider(String name) {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class))
            if (p.name().equals(name)) return p;
        return null;
    }
}
