package dev.hydra.cli;

import dev.hydra.backend.Backends;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options every Hydra BERT command shares: the model directory, precision, backend and padding mode. */
final class BertModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model directory: config.json, model.safetensors, optionally tokenizer.json.")
    Path model;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64", description = "Numeric precision (default: ${DEFAULT-VALUE}).")
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
        Precision<?> p = switch (precision) {
            case "fp32" -> Precision.FP32;
            case "fp64" -> Precision.FP64;
            default -> throw new dev.hydra.HydraException("--precision must be fp32 or fp64, got '" + precision + "'");
        };
        Padding pad = switch (padding == null ? (idsInput ? "release" : "none") : padding) {
            case "release" -> Padding.RELEASE;
            case "none" -> Padding.NONE;
            default -> throw new dev.hydra.HydraException("--padding must be release or none, got '" + padding + "'");
        };
        return HydraBert.load(model, new HydraBert.Options(p, Backends.named(backend), pad, batchSize, autoBatch));
    }
}
