package dev.hydra.tests.bert;

import dev.hydra.bert.BertConfig;
import dev.hydra.bert.SeededBert;
import dev.hydra.io.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A small model directory for tests: seeded weights with both heads, config.json and a WordPiece tokenizer.json. */
public final class TinyBertDir {
    public static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat",
            "dog", "##s", "a");

    private TinyBertDir() {}

    public static Path create(Path dir, boolean withTokenizer) {
        BertConfig c = BertModelTest.config(false);
        try {
            Files.createDirectories(dir);
            var json = c.toJson();
            json.putObject("id2label").put("0", "negative").put("1", "neutral").put("2", "positive");
            Files.writeString(dir.resolve("config.json"), json.toPrettyString());
            SeededBert.weights(c, 11, true, 3, "bert.").writeTo(new SafeTensorsWriter(), "").write(dir.resolve("model.safetensors"), false);
            if (withTokenizer) Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    static String tokenizerJson() {
        return SeededBert.wordPieceTokenizerJson(VOCAB);
    }
}
