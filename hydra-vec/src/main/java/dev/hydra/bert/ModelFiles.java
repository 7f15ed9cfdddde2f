package dev.hydra.bert;

import dev.hydra.HydraException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files a model path names. A directory holds a checkpoint ({@code model.safetensors}, else
 * {@code pytorch_model.bin}, else one {@code *.pt} Composer checkpoint), optionally {@code config.json} (else the
 * config the checkpoint carries) and a tokenizer ({@code tokenizer.json}, else {@code vocab.txt} with an optional
 * {@code tokenizer_config.json}). A checkpoint file takes its config and tokenizer from beside it; an explicit
 * config file replaces {@code config.json}. Absent optional files are null.
 */
public record ModelFiles(Path weights, Path config, Path tokenizerJson, Path vocab, Path tokenizerConfig) {

    /** Checkpoint names a model directory may hold, in order of preference (as transformers prefers them). */
    public static final List<String> CHECKPOINT_NAMES = List.of("model.safetensors", "pytorch_model.bin");

    /** Locates the files of {@code model} (a directory or a checkpoint file); {@code config} may be null. */
    public static ModelFiles locate(Path model, Path config) {
        Path weights;
        Path dir;
        if (Files.isDirectory(model)) {
            dir = model;
            weights = checkpointIn(model);
        } else if (Files.isRegularFile(model)) {
            weights = model;
            dir = model.toAbsolutePath().getParent();
        } else {
            throw new HydraException(model + ": no such model directory or checkpoint file");
        }
        if (config != null && !Files.isRegularFile(config)) throw new HydraException(config + ": no such config file");
        Path tokenizerJson = optional(dir, "tokenizer.json");
        Path vocab = tokenizerJson == null ? optional(dir, "vocab.txt") : null;
        return new ModelFiles(weights, config != null ? config : optional(dir, "config.json"), tokenizerJson, vocab,
                vocab == null ? null : optional(dir, "tokenizer_config.json"));
    }

    /** Only the tokenizer files of a directory (for tokenizing without a model). */
    public static ModelFiles tokenizerOnly(Path dir) {
        if (!Files.isDirectory(dir)) throw new HydraException(dir + ": no such directory");
        Path tokenizerJson = optional(dir, "tokenizer.json");
        Path vocab = tokenizerJson == null ? optional(dir, "vocab.txt") : null;
        return new ModelFiles(null, optional(dir, "config.json"), tokenizerJson, vocab,
                vocab == null ? null : optional(dir, "tokenizer_config.json"));
    }

    public boolean hasTokenizer() {
        return tokenizerJson != null || vocab != null;
    }

    /** The tokenizer, truncating to {@code maxLength} tokens; an error naming the directory when there is none. */
    public TextTokenizer tokenizer(int maxLength, Path describedAs) {
        if (tokenizerJson != null) return TextTokenizer.load(tokenizerJson, maxLength);
        if (vocab != null) return TextTokenizer.fromVocab(vocab, tokenizerConfig, maxLength);
        throw new HydraException(describedAs + ": no tokenizer (tokenizer.json or vocab.txt), so it takes token ids only");
    }

    private static Path checkpointIn(Path dir) {
        for (String name : CHECKPOINT_NAMES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        List<Path> composer = new ArrayList<>();
        try (DirectoryStream<Path> pts = Files.newDirectoryStream(dir, "*.pt")) {
            for (Path p : pts) if (Files.isRegularFile(p)) composer.add(p.getFileName());
        } catch (IOException e) {
            throw new HydraException(dir + ": cannot list (" + e.getMessage() + ")");
        }
        if (composer.size() > 1)
            throw new HydraException(dir + ": holds " + composer.size() + " checkpoints (" + composer.stream().sorted().map(Path::toString)
                    .reduce((a, b) -> a + ", " + b).orElseThrow() + "); give --model the one to use");
        if (composer.isEmpty())
            throw new HydraException(dir + ": no checkpoint (model.safetensors, pytorch_model.bin or a *.pt Composer checkpoint)");
        return dir.resolve(composer.getFirst());
    }

    private static Path optional(Path dir, String name) {
        Path p = dir.resolve(name);
        return Files.isRegularFile(p) ? p : null;
    }
}
