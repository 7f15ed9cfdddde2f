package dev.hydra.cli;

import dev.hydra.bert.CheckpointFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code hydra inspect}: what a checkpoint file holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "List what a checkpoint file holds: one line per tensor (name, dtype, shape), then the config it carries "
                + "(a Composer checkpoint's) and a safetensors file's metadata. Nothing in the file is executed.")
final class InspectCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "A safetensors, pytorch_model.bin or Composer *.pt file.")
    Path file;

    @Override
    public Integer call() {
        StringBuilder out = new StringBuilder();
        try (CheckpointFile c = CheckpointFile.open(file)) {
            out.append(file).append(": ").append(c.format()).append(", ").append(c.entries().size()).append(" tensors\n");
            for (CheckpointFile.Entry e : c.entries())
                out.append(e.path()).append('\t').append(e.info().dtype()).append('\t').append(e.info().shapeString()).append('\n');
            c.metadata().forEach((k, v) -> out.append("metadata ").append(k).append(": ").append(v).append('\n'));
            out.append("config: ").append(c.carriedConfig().map(Object::toString).orElse("none")).append('\n');
        }
        spec.commandLine().getOut().print(out);
        return 0;
    }
}
