package dev.hydra.bench;

import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorSource;
import dev.hydra.io.torch.TorchCheckpoint;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Loading a checkpoint: open the file (zip directory and restricted unpickler, or safetensors header),
 * then read every float tensor of its state dict as float32, as a model load does. {@code path} is any
 * {@code pytorch_model.bin}, legacy {@code .bin} or {@code .safetensors} state dict (default: the small
 * masked-LM checkpoint of the unit tests; pass a real one with {@code -p path=...}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g"})
public class CheckpointBench {
    @Param({"hydra-vec/src/test/resources/dev/hydra/io/torch/mlm-pytorch_model.bin"}) String path;

    @Benchmark
    public long openAndReadAll() {
        Path p = Path.of(path);
        if (p.getFileName().toString().endsWith(".safetensors")) {
            try (SafeTensors st = SafeTensors.open(p)) {
                return readAll(st);
            }
        }
        try (TorchCheckpoint c = TorchCheckpoint.open(p)) {
            return readAll(c.stateDict());
        }
    }

    private static long readAll(TensorSource s) {
        long n = 0;
        for (String name : s.names()) if (s.info(name).dtype().isFloat()) n += s.floats(name).length;
        return n;
    }
}
