package dev.hydra.spark;

import dev.hydra.HydraException;
import dev.hydra.runtime.Backends;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.weights.Precision;
import org.apache.hadoop.conf.Configuration;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The models of this JVM: each (path, precision, backend, batch size, threads) is loaded once, lazily, by
 * the first task that needs it, and shared by every later task (a {@link HydraBert} is thread-safe). Models
 * stay loaded for the life of the executor. The cpu backend runs each task on the cores Spark gave it
 * ({@code spark.task.cpus}, default 1), so that concurrent tasks do not oversubscribe the executor.
 */
final class ModelCache {
    /** {@code cpuThreads}: the threads of the cpu backend (a task's {@code spark.task.cpus}); other backends ignore it. */
    record Key(String modelPath, String precision, String backend, int batchSize, int cpuThreads) implements java.io.Serializable {
        Key withCpuThreads(int threads) {
            return new Key(modelPath, precision, backend, batchSize, threads);
        }
    }

    private static final ConcurrentMap<Key, HydraBert> MODELS = new ConcurrentHashMap<>();

    private ModelCache() {}

    static HydraBert get(Key key, Configuration conf) {
        return MODELS.computeIfAbsent(key, k -> HydraBert.load(ModelFiles.local(k.modelPath(), conf),
                new HydraBert.Options(precision(k.precision()),
                        k.backend().equals("cpu") ? Backends.cpu(k.cpuThreads()) : Backends.named(k.backend()), Padding.NONE, k.batchSize())));
    }

    private static Precision<?> precision(String name) {
        return switch (name) {
            case "fp32" -> Precision.FP32;
            case "fp64" -> Precision.FP64;
            default -> throw new HydraException("precision must be fp32 or fp64, got '" + name + "'");
        };
    }
}
