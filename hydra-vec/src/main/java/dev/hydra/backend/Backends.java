package dev.hydra.backend;

import dev.hydra.HydraException;
import dev.hydra.kernels.ScalarBackend;
import dev.hydra.weights.Precision;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ServiceLoader;

/** Chooses a backend by name: {@code cpu}, {@code scalar}, {@code gpu} or {@code auto}. */
public final class Backends {
    private Backends() {}

    /** The fastest CPU backend available in this JVM, on one thread per available processor. */
    public static Backend cpu() {
        return cpu(Runtime.getRuntime().availableProcessors());
    }

    /**
     * The Vector API backend on {@code threads} threads when {@code jdk.incubator.vector} is readable
     * (loaded reflectively, so that this class never links against it, as Lucene selects its
     * vectorization provider); else the scalar kernels, saying once on stderr how to enable the fast path.
     */
    public static Backend cpu(int threads) {
        if (threads < 1) throw new HydraException("--threads must be at least 1, got " + threads);
        MethodHandle vector = VectorProvider.CONSTRUCTOR;
        if (vector == null) return new ScalarBackend();
        try {
            return (Backend) vector.invoke(threads);
        } catch (Throwable e) {
            throw new IllegalStateException("cannot start the Vector API backend", e);
        }
    }

    /** True when {@link #cpu()} runs the Vector API kernels. */
    public static boolean vectorized() {
        return VectorProvider.CONSTRUCTOR != null;
    }

    /** Looked up once: the VectorBackend(int) constructor, or null (and the one stderr line) without the module. */
    private static final class VectorProvider {
        static final MethodHandle CONSTRUCTOR = find();

        private static MethodHandle find() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                System.err.println("hydra: Java Vector API not enabled, using the scalar CPU kernels; run java with "
                        + "--add-modules jdk.incubator.vector for the fast path");
                return null;
            }
            try {
                Class<?> c = Class.forName("dev.hydra.kernels.VectorBackend");
                return MethodHandles.publicLookup().findConstructor(c, MethodType.methodType(void.class, int.class));
            } catch (ReflectiveOperationException | LinkageError e) {
                System.err.println("hydra: Vector API backend unavailable (" + e + "), using the scalar CPU kernels");
                return null;
            }
        }
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

    /**
     * The backend {@code name} computing in {@code precision}: fp32 and fp64 as {@link #named(String)};
     * bf16 only on the GPU ({@code gpu}, or {@code auto} where the GPU runs), else a one-line error.
     */
    public static Backend named(String name, Precision<?> precision) {
        if (precision != Precision.BF16) return named(name);
        String cpuOnly = "bf16 runs only on the gpu backend; the CPU backends compute in fp32 or fp64";
        BackendProvider gpu = provider("gpu");
        return switch (name) {
            case "cpu", "scalar" -> throw new HydraException(cpuOnly + " (got --backend " + name + ")");
            case "gpu", "auto" -> {
                String why = gpu == null ? "hydra-gpu is not on the class path" : gpu.unavailableReason();
                if (why != null) throw new HydraException(cpuOnly + ", and the GPU cannot run here: " + why);
                yield gpu.create(precision);
            }
            default -> named(name);
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
