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
final class TinyBertDir {
    static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat",
            "dog", "##s", "a");

    private TinyBertDir() {}

    static Path create(Path dir, boolean withTokenizer) {
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

    /** A BERT-style WordPiece tokenizer.json (lower-casing normalizer, [CLS] A [SEP] B [SEP] template). */
    static String tokenizerJson() {
        StringBuilder vocab = new StringBuilder(), added = new StringBuilder();
        for (int i = 0; i < VOCAB.size(); i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(VOCAB.get(i)).append("\":").append(i);
            if (VOCAB.get(i).startsWith("["))
                added.append(added.isEmpty() ? "" : ",").append("{\"id\":").append(i).append(",\"content\":\"").append(VOCAB.get(i))
                        .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
        }
        return """
                {"version":"1.0","truncation":null,"padding":null,"added_tokens":[%s],
                 "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
                 "pre_tokenizer":{"type":"BertPreTokenizer"},
                 "post_processor":{"type":"TemplateProcessing",
                   "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
                   "pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},
                           {"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],
                   "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},
                 "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
                 "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{%s}}}
                """.formatted(added, vocab);
    }
}
