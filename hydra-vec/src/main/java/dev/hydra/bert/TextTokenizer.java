package dev.hydra.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.hydra.HydraException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Text to token ids through a Hugging Face {@code tokenizer.json} (or a WordPiece {@code vocab.txt}, see
 * {@link #fromVocab}), by the Rust tokenizers library (DJL's
 * binding, whose jar carries the native library for Linux, macOS and Windows; nothing is downloaded).
 * Adds the special tokens the file defines and truncates to {@code maxLength} (longest first for
 * pairs). Safe to share between threads.
 */
public final class TextTokenizer implements AutoCloseable {
    static {
        // On a machine with an NVIDIA GPU, DJL picks a CUDA build of the tokenizer library, which its jar does not
        // carry, and tries to download it (failing offline); tokenizing gains nothing from CUDA. RUST_FLAVOR set
        // by the user (environment or property) still wins.
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null) System.setProperty("RUST_FLAVOR", "cpu");
    }

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;
    private final int maxLength;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, Path file, int maxLength) {
        this.tokenizer = tokenizer;
        this.file = file;
        this.maxLength = maxLength;
    }

    /** One text (or pair) as ids and token type ids of equal length. */
    public record Encoded(int[] ids, int[] typeIds, String[] tokens) {
        public int length() {
            return ids.length;
        }
    }

    public static TextTokenizer load(Path file, int maxLength) {
        if (!Files.isRegularFile(file)) throw new HydraException(file + ": no such file");
        checkMaxLength(file, maxLength);
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(file, options(maxLength)), file, maxLength);
        } catch (IOException | RuntimeException e) {
            throw new HydraException(file + ": not a usable tokenizer.json (" + firstLine(e.getMessage()) + ")");
        }
    }

    /**
     * transformers' {@code BertTokenizer} for a WordPiece {@code vocab.txt}, with the options of an optional
     * {@code tokenizer_config.json} (null when absent): the tokenizer.json its converter writes, run by the same library.
     */
    public static TextTokenizer fromVocab(Path vocab, Path tokenizerConfig, int maxLength) {
        checkMaxLength(vocab, maxLength);
        byte[] json = VocabTokenizer.json(vocab, tokenizerConfig).getBytes(StandardCharsets.UTF_8);
        try {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), options(maxLength)), vocab, maxLength);
        } catch (IOException | RuntimeException e) {
            throw new HydraException(vocab + ": not a usable WordPiece vocabulary (" + firstLine(e.getMessage()) + ")");
        }
    }

    private static void checkMaxLength(Path file, int maxLength) {
        if (maxLength < 2) throw new HydraException(file + ": max length must be at least 2, got " + maxLength);
    }

    private static Map<String, String> options(int maxLength) {
        return Map.of("truncation", "true", "padding", "false", "maxLength", Integer.toString(maxLength), "addSpecialTokens", "true");
    }

    private static String firstLine(String s) {
        if (s == null) return "no detail";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public int maxLength() {
        return maxLength;
    }

    public Encoded encode(String text) {
        return of(tokenizer.encode(text));
    }

    public Encoded encode(String text, String pair) {
        return of(tokenizer.encode(text, pair));
    }

    /** The string of one token id (special tokens included). */
    public String token(int id) {
        return tokenizer.decode(new long[] {id}, false);
    }

    private Encoded of(Encoding e) {
        long[] ids = e.getIds(), types = e.getTypeIds();
        int[] i = new int[ids.length], t = new int[ids.length];
        for (int k = 0; k < ids.length; k++) {
            i[k] = Math.toIntExact(ids[k]);
            t[k] = Math.toIntExact(types[k]);
        }
        if (i.length == 0) throw new HydraException(file + ": the tokenizer produced no tokens for a text");
        return new Encoded(i, t, e.getTokens());
    }

    /** Right-padded batch of encoded texts (pad id 0, mask 0). */
    public static Tokens batch(List<Encoded> items) {
        int L = items.stream().mapToInt(Encoded::length).max().orElseThrow(() -> new HydraException("tokens: empty batch"));
        int B = items.size();
        int[] ids = new int[B * L], types = new int[B * L], mask = new int[B * L];
        for (int b = 0; b < B; b++) {
            Encoded e = items.get(b);
            System.arraycopy(e.ids(), 0, ids, b * L, e.length());
            System.arraycopy(e.typeIds(), 0, types, b * L, e.length());
            java.util.Arrays.fill(mask, b * L, b * L + e.length(), 1);
        }
        return new Tokens(B, L, ids, types, mask);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
