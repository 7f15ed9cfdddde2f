package dev.hydra.cli;

import dev.hydra.bert.ModelConversion;
import dev.hydra.bert.ModelFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code hydra convert}: a checkpoint in any supported format, written as a plain model folder. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write a model (a directory or checkpoint file: model.safetensors, pytorch_model.bin, a Composer *.pt) "
                + "as a model folder: model.safetensors, config.json and the tokenizer files. The model is loaded first; "
                + "the folder appears whole or not at all.")
final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "The model directory or checkpoint file.")
    Path model;

    @Option(names = "--config", paramLabel = "FILE", description = "The model's config.json, instead of the one beside the checkpoint or carried by it.")
    Path config;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "The folder to write.")
    Path output;

    @Option(names = "--force", description = "Replace an existing output folder.")
    boolean force;

    @Override
    public Integer call() {
        ModelConversion.convert(ModelFiles.locate(model, config), output, force);
        return 0;
    }
}
