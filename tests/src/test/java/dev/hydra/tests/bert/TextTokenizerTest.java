package dev.hydra.tests.bert;

import dev.hydra.HydraException;
import dev.hydra.bert.TextTokenizer;
import dev.hydra.bert.Tokens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tokenizer.json reader on a WordPiece file built here. */
class TextTokenizerTest {
    @TempDir Path tmp;

    TextTokenizer load(int maxLength) throws Exception {
        Path f = tmp.resolve("tokenizer.json");
        Files.writeString(f, TinyBertDir.tokenizerJson());
        return TextTokenizer.load(f, maxLength);
    }

    @Test
    void theTokenizerLibraryIsTheCpuBuildUnlessTheUserChoseAnother() throws Exception {
        try (TextTokenizer t = load(32)) {
            assertThat(t.encode("the cat").length()).isPositive();
        }
        // on a GPU machine DJL would otherwise look for a CUDA build, which its jar does not carry
        String chosen = System.getenv("RUST_FLAVOR");
        assertThat(System.getProperty("RUST_FLAVOR")).isEqualTo(chosen == null ? "cpu" : null);
    }

    @Test
    void singleTextsGetSpecialTokensSubwordsAndUnknowns() throws Exception {
        try (TextTokenizer t = load(32)) {
            TextTokenizer.Encoded e = t.encode("The cats SAT zebra");
            assertThat(e.ids()).containsExactly(2, 5, 6, 11, 7, 1, 3);
            assertThat(e.typeIds()).containsOnly(0);
            assertThat(e.tokens()).containsExactly("[CLS]", "the", "cat", "##s", "sat", "[UNK]", "[SEP]");
            assertThat(t.token(9)).isEqualTo("mat");
        }
    }

    @Test
    void pairsGetTypeIdsOfTheSecondSegment() throws Exception {
        try (TextTokenizer t = load(32)) {
            TextTokenizer.Encoded e = t.encode("the cat", "a dog");
            assertThat(e.ids()).containsExactly(2, 5, 6, 3, 12, 10, 3);
            assertThat(e.typeIds()).containsExactly(0, 0, 0, 0, 1, 1, 1);
        }
    }

    @Test
    void truncatesToTheMaximumLengthKeepingSpecialTokens() throws Exception {
        try (TextTokenizer t = load(5)) {
            assertThat(t.encode("the cat sat on the mat").ids()).containsExactly(2, 5, 6, 7, 3);
            TextTokenizer.Encoded pair = t.encode("the cat sat", "on the mat");
            assertThat(pair.length()).isEqualTo(5);
            assertThat(pair.ids()[0]).isEqualTo(2);
            assertThat(pair.ids()[4]).isEqualTo(3);
        }
    }

    @Test
    void batchesArePaddedWithAMask() throws Exception {
        try (TextTokenizer t = load(32)) {
            Tokens b = TextTokenizer.batch(List.of(t.encode("the cat"), t.encode("the cat sat on a mat")));
            assertThat(b.len()).isEqualTo(8);
            assertThat(b.lengths()).containsExactly(4, 8);
            assertThat(java.util.Arrays.copyOf(b.mask(), 8)).containsExactly(1, 1, 1, 1, 0, 0, 0, 0);
            assertThat(java.util.Arrays.copyOf(b.ids(), 8)).containsExactly(2, 5, 6, 3, 0, 0, 0, 0);
        }
    }

    @Test
    void badFilesAreOneLineErrors() throws Exception {
        assertThatThrownBy(() -> TextTokenizer.load(tmp.resolve("none.json"), 8))
                .isInstanceOf(HydraException.class).hasMessageContaining("none.json: no such file");
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"model\": 3}");
        assertThatThrownBy(() -> TextTokenizer.load(bad, 8))
                .isInstanceOf(HydraException.class).hasMessageContaining("bad.json: not a usable tokenizer.json")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
