package dev.hydra.tests.release;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.HydraException;
import dev.hydra.bert.TextTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * WordPiece from the release's kind of vocab.txt against transformers' BertTokenizer (checkpoints/tokenizer_pub/
 * golden.json: every text and pair, ids, tokens and type ids), and the same through its tokenizer.json.
 */
class WordPieceGoldenTest {
    static final Path DIR = ReleaseFiles.dir("tokenizer_pub");

    @TempDir Path tmp;

    static JsonNode golden() throws Exception {
        return new ObjectMapper().readTree(DIR.resolve("golden.json").toFile());
    }

    static TextTokenizer fromVocab(int maxLength) {
        return TextTokenizer.fromVocab(DIR.resolve("vocab.txt"), DIR.resolve("tokenizer_config.json"), maxLength);
    }

    @Test
    void everyGoldenTextAndPairFromVocabTxt() throws Exception {
        try (TextTokenizer t = fromVocab(512)) {
            assertEveryGolden(t);
        }
        try (TextTokenizer t = TextTokenizer.fromVocab(DIR.resolve("vocab.txt"), null, 512)) {   // the defaults: lower-casing
            assertEveryGolden(t);
        }
    }

    @Test
    void everyGoldenTextAndPairFromTokenizerJson() throws Exception {
        try (TextTokenizer t = TextTokenizer.load(DIR.resolve("tokenizer.json"), 512)) {
            assertEveryGolden(t);
        }
    }

    static void assertEveryGolden(TextTokenizer t) throws Exception {
        JsonNode g = golden();
        assertThat(g.get("texts").size()).isEqualTo(8);
        for (JsonNode e : g.get("texts")) {
            TextTokenizer.Encoded enc = t.encode(e.get("text").asText());
            assertThat(enc.ids()).as(e.get("text").asText()).containsExactly(ints(e.get("input_ids")));
            assertThat(enc.tokens()).as(e.get("text").asText()).containsExactly(strings(e.get("tokens")));
            assertThat(enc.typeIds()).containsOnly(0);
        }
        assertThat(g.get("pairs").size()).isEqualTo(2);
        for (JsonNode e : g.get("pairs")) {
            TextTokenizer.Encoded enc = t.encode(e.get("text").asText(), e.get("text_pair").asText());
            assertThat(enc.ids()).containsExactly(ints(e.get("input_ids")));
            assertThat(enc.typeIds()).containsExactly(ints(e.get("token_type_ids")));
        }
    }

    @Test
    void truncatesToTheMaxLengthKeepingTheSpecialTokens() {
        String text = "the hydra state space model is bidirectional";   // [CLS] + 7 words + [SEP]
        try (TextTokenizer full = fromVocab(512); TextTokenizer cut = fromVocab(6)) {
            int[] all = full.encode(text).ids();
            assertThat(all).hasSize(9);
            int[] ids = cut.encode(text).ids();
            assertThat(ids).hasSize(6);
            assertThat(Arrays.copyOf(ids, 5)).containsExactly(Arrays.copyOf(all, 5));
            assertThat(ids[5]).isEqualTo(all[8]);                          // [SEP]
            // pairs: the longer text loses tokens first (longest first), both keep their [SEP]
            TextTokenizer.Encoded pair = cut.encode("the hydra state space", "model");
            assertThat(pair.tokens()).containsExactly("[CLS]", "the", "hydra", "[SEP]", "model", "[SEP]");
            assertThat(pair.typeIds()).containsExactly(0, 0, 0, 0, 1, 1);
        }
    }

    @Test
    void tokenizerConfigOptionsAreHonoured() throws Exception {
        Path vocab = Files.copy(DIR.resolve("vocab.txt"), tmp.resolve("vocab.txt"));
        Path config = tmp.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"do_lower_case\": false, \"tokenizer_class\": \"BertTokenizer\"}");
        try (TextTokenizer cased = TextTokenizer.fromVocab(vocab, config, 512)) {
            assertThat(cased.encode("The hydra").tokens()).containsExactly("[CLS]", "[UNK]", "hydra", "[SEP]");
        }
        Files.writeString(config, "{\"do_lower_case\": true, \"strip_accents\": false}");
        try (TextTokenizer accents = TextTokenizer.fromVocab(vocab, config, 512)) {
            assertThat(accents.encode("É").tokens()).containsExactly("[CLS]", "é", "[SEP]");
        }
        try (TextTokenizer stripping = TextTokenizer.fromVocab(vocab, null, 512)) {
            assertThat(stripping.encode("É").tokens()).containsExactly("[CLS]", "e", "[SEP]");
        }
    }

    @Test
    void badVocabulariesAreOneLineErrors() throws Exception {
        Path vocab = tmp.resolve("vocab.txt");
        oneLine(() -> TextTokenizer.fromVocab(vocab, null, 512), vocab + ": no such file");
        Files.writeString(vocab, "");
        oneLine(() -> TextTokenizer.fromVocab(vocab, null, 512), vocab + ": empty vocabulary");
        Files.writeString(vocab, "[PAD]\n[UNK]\n[SEP]\na\n");
        oneLine(() -> TextTokenizer.fromVocab(vocab, null, 512), vocab + ": the vocabulary has no '[CLS]' token");
        Files.write(vocab, new byte[] {'[', 'C', 'L', 'S', ']', '\n', (byte) 0xff, '\n'});
        oneLine(() -> TextTokenizer.fromVocab(vocab, null, 512), vocab + ": not UTF-8 text");
        Files.writeString(vocab, Files.readString(DIR.resolve("vocab.txt")));
        Path config = tmp.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"do_lower_case\": \"yes\"}");
        oneLine(() -> TextTokenizer.fromVocab(vocab, config, 512), "config key 'do_lower_case' must be true or false");
        Files.writeString(config, "{\"cls_token\": 3}");
        oneLine(() -> TextTokenizer.fromVocab(vocab, config, 512), "key 'cls_token' must be a token string, got 3");
        oneLine(() -> TextTokenizer.fromVocab(vocab, null, 1), "max length must be at least 2");
    }

    static void oneLine(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String part) {
        assertThatThrownBy(call).isInstanceOf(HydraException.class).hasMessageContaining(part)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    static int[] ints(JsonNode array) {
        return collect(array, JsonNode::asInt).stream().mapToInt(Integer::intValue).toArray();
    }

    static String[] strings(JsonNode array) {
        return collect(array, JsonNode::asText).toArray(String[]::new);
    }

    private static <T> List<T> collect(JsonNode array, java.util.function.Function<JsonNode, T> f) {
        List<T> out = new ArrayList<>();
        array.forEach(n -> out.add(f.apply(n)));
        return out;
    }
}
