package dev.hydra.cli;

import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.runtime.Backends;
import dev.hydra.bert.ModelFiles;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every Hydra BERT command shares: the model (directory or checkpoint), its config, precision, backend and padding mode. */
final class BertModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR|FILE",
            description = "A model directory (config.json; model.safetensors, pytorch_model.bin or a *.pt Composer checkpoint; "
                    + "tokenizer.json or vocab.txt) or a checkpoint file (config and tokenizer from beside it).")
    Path model;

    @Option(names = "--config", paramLabel = "FILE",
            description = "The model's config.json, instead of the one beside the checkpoint (or the one a Composer checkpoint carries).")
    Path config;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64|bf16",
            description = "Numeric precision; bf16 (bf16 tensor-core products, fp32 accumulation) needs --backend gpu (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--backend", defaultValue = "cpu", description = "fp32 backend: cpu, scalar, gpu or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--padding", paramLabel = "release|none",
            description = "release: a batch runs padded as in the release (padding reaches valid tokens through the scan); "
                    + "none: each sequence as if alone. Default: release for --input-ids, none for texts.")
    String padding;

    @Option(names = "--batch-size", defaultValue = "32", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--auto-batch", description = "Split a batch that does not fit the free memory (heap or GPU) in halves "
            + "until it does, instead of refusing it.")
    boolean autoBatch;

    @Option(names = "--progress", description = "Show a progress bar on stderr (shown anyway when attached to a terminal).")
    boolean progress;

    HydraBert load(boolean idsInput) {
        Precision<?> p = precision(precision);
        Padding pad = switch (padding == null ? (idsInput ? "release" : "none") : padding) {
            case "release" -> Padding.RELEASE;
            case "none" -> Padding.NONE;
            default -> throw new dev.hydra.HydraException("--padding must be release or none, got '" + padding + "'");
        };
        return HydraBert.load(files(), new HydraBert.Options(p, Backends.named(backend, p), pad, batchSize, autoBatch));
    }

    ModelFiles files() {
        return ModelFiles.locate(model, config);
    }

    /** null when no --pool was given (the command then picks the model's default). */
    static HydraBert.Pool pool(String name) {
        if (name == null) return null;
        return switch (name) {
            case "cls" -> HydraBert.Pool.CLS;
            case "mean" -> HydraBert.Pool.MEAN;
            default -> throw new dev.hydra.HydraException("--pool must be cls or mean, got '" + name + "'");
        };
    }

    static Precision<?> precision(String name) {
        return switch (name) {
            case "fp32" -> Precision.FP32;
            case "fp64" -> Precision.FP64;
            case "bf16" -> Precision.BF16;
            default -> throw new dev.hydra.HydraException("--precision must be fp32, fp64 or bf16, got '" + name + "'");
        };
    }
}
