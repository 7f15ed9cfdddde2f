package dev.hydra.runtime;

import dev.hydra.HydraException;
import dev.hydra.backend.Backend;
import dev.hydra.backend.BackendProvider;
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
        if (VectorProvider.MISCONFIGURED != null) throw new HydraException(VectorProvider.MISCONFIGURED);
        MethodHandle vector = VectorProvider.CONSTRUCTOR;
        if (vector == null) return new ScalarBackend();
        try {
            return (Backend) vector.invoke(threads);
        } catch (HydraException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cannot start the Vector API backend", e);
        }
    }

    /** True when {@link #cpu()} runs the Vector API kernels. */
    public static boolean vectorized() {
        return VectorProvider.CONSTRUCTOR != null;
    }

    /**
     * Why the Vector API kernels would run slower than the scalar ones in this JVM, or null: no vector
     * shape of at least 128 bits, or no C2 (-Xint, or tiered compilation stopped below level 4), without
     * which every vector operation is a boxed object.
     */
    static String vectorRefusal(int preferredBits, boolean interpreted, boolean tiered, long tieredStopAtLevel) {
        if (preferredBits < 128) return "the preferred vector width here is " + preferredBits + " bits, under 128";
        if (interpreted) return "the JVM runs interpreted (-Xint)";
        if (tiered && tieredStopAtLevel < 4) return "C2 is disabled (-XX:TieredStopAtLevel=" + tieredStopAtLevel + ")";
        return null;
    }

    /** {@link #vectorRefusal} for this JVM; HotSpot's flags are read through its diagnostic bean (other VMs: assumed to have C2). */
    private static String vectorRefusal(int preferredBits) {
        boolean interpreted = System.getProperty("java.vm.info", "").contains("interpreted mode"), tiered = false;
        long stopAt = 4;
        try {
            var flags = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            tiered = Boolean.parseBoolean(flags.getVMOption("TieredCompilation").getValue());
            stopAt = Long.parseLong(flags.getVMOption("TieredStopAtLevel").getValue());
        } catch (RuntimeException | LinkageError e) {
            // not HotSpot: nothing to read
        }
        return vectorRefusal(preferredBits, interpreted, tiered, stopAt);
    }

    /**
     * Looked up once: the VectorBackend(int) constructor, or null and one stderr line saying why (no module,
     * or a JVM where the vector kernels would be slower than the scalar ones); or, where one of the vector
     * kernels' properties cannot be read, the error that every request for the CPU backend then reports.
     */
    private static final class VectorProvider {
        static final MethodHandle CONSTRUCTOR;
        static final String MISCONFIGURED;

        static {
            MethodHandle found = null;
            String misconfigured = null;
            try {
                found = find();
            } catch (HydraException e) {
                misconfigured = e.getMessage();
            }
            CONSTRUCTOR = found;
            MISCONFIGURED = misconfigured;
        }

        private static MethodHandle find() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                System.err.println("hydra: Java Vector API not enabled, using the scalar CPU kernels; run java with "
                        + "--add-modules jdk.incubator.vector for the fast path");
                return null;
            }
            try {
                Class<?> c = Class.forName("dev.hydra.kernels.VectorBackend");
                int bits = (int) MethodHandles.publicLookup().findStatic(c, "preferredBits", MethodType.methodType(int.class)).invoke();
                String refusal = vectorRefusal(bits);
                if (refusal != null) {
                    System.err.println("hydra: using the scalar CPU kernels, the Vector API ones would be slower: " + refusal);
                    return null;
                }
                return MethodHandles.publicLookup().findConstructor(c, MethodType.methodType(void.class, int.class));
            } catch (ExceptionInInitializerError e) {
                if (e.getCause() instanceof HydraException bad) throw bad;
                System.err.println("hydra: Vector API backend unavailable (" + e.getCause() + "), using the scalar CPU kernels");
                return null;
            } catch (Throwable e) {
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
