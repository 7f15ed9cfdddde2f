package dev.hydra.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.config.JsonKeys;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece {@code vocab.txt} (one token per line, the line number its id) as the {@code tokenizer.json} that
 * transformers' converter ({@code BertConverter}) writes for it, so that the Rust tokenizers library runs exactly
 * transformers' {@code BertTokenizer} (docs/spec.md §3): BERT normalizer (clean text, CJK spacing, lower-casing and
 * accent stripping per {@code tokenizer_config.json}, lower-casing by default), BERT pre-tokenizer, greedy WordPiece
 * with {@code ##} continuations and 100 characters per word, {@code [CLS] A [SEP] (B [SEP])}, special tokens whole.
 */
final class VocabTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private VocabTokenizer() {}

    /** The tokenizer.json text; {@code tokenizerConfig} may be null. */
    static String json(Path vocabFile, Path tokenizerConfig) {
        ObjectNode options = tokenizerConfig == null ? JSON.createObjectNode() : JsonKeys.readObject(tokenizerConfig);
        String src = tokenizerConfig == null ? vocabFile.toString() : tokenizerConfig.toString();
        Map<String, Integer> vocab = read(vocabFile);
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0").putNull("truncation").putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        String unk = special(options, "unk_token", "[UNK]", src), cls = special(options, "cls_token", "[CLS]", src),
                sep = special(options, "sep_token", "[SEP]", src);
        for (String name : List.of(unk, cls, sep))
            if (!vocab.containsKey(name)) throw new HydraException(vocabFile + ": the vocabulary has no '" + name + "' token");
        for (String name : List.of(special(options, "pad_token", "[PAD]", src), unk, cls, sep, special(options, "mask_token", "[MASK]", src)))
            if (vocab.containsKey(name) && added.findValues("content").stream().noneMatch(v -> v.asText().equals(name)))
                added.addObject().put("id", vocab.get(name)).put("content", name).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
        boolean lower = flag(options, "do_lower_case", true, src);
        ObjectNode norm = t.putObject("normalizer").put("type", "BertNormalizer").put("clean_text", true)
                .put("handle_chinese_chars", flag(options, "tokenize_chinese_chars", true, src)).put("lowercase", lower);
        JsonNode strip = options.get("strip_accents");
        if (strip == null || strip.isNull()) norm.putNull("strip_accents");    // follows lowercase
        else norm.put("strip_accents", flag(options, "strip_accents", lower, src));
        t.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        ObjectNode post = t.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        special(single, cls, 0);
        sequence(single, "A", 0);
        special(single, sep, 0);
        ArrayNode pair = post.putArray("pair");
        special(pair, cls, 0);
        sequence(pair, "A", 0);
        special(pair, sep, 0);
        sequence(pair, "B", 1);
        special(pair, sep, 1);
        ObjectNode specials = post.putObject("special_tokens");
        for (String name : List.of(cls, sep)) {
            ObjectNode s = specials.putObject(name).put("id", name);
            s.putArray("ids").add(vocab.get(name));
            s.putArray("tokens").add(name);
        }
        t.putObject("decoder").put("type", "WordPiece").put("prefix", "##").put("cleanup", true);
        ObjectNode model = t.putObject("model").put("type", "WordPiece").put("unk_token", unk)
                .put("continuing_subword_prefix", "##").put("max_input_chars_per_word", 100);
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        return t.toString();
    }

    /** Token to id; a repeated token keeps its last line, as transformers' {@code load_vocab} does. */
    private static Map<String, Integer> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new HydraException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new HydraException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new HydraException(file + ": cannot read (" + e.getMessage() + ")");
        }
        if (lines.isEmpty()) throw new HydraException(file + ": empty vocabulary");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            vocab.remove(lines.get(i));
            vocab.put(lines.get(i), i);
        }
        return vocab;
    }

    private static String special(ObjectNode options, String key, String dflt, String src) {
        JsonNode v = options.get(key);
        if (v == null || v.isNull()) return dflt;
        if (v.isTextual()) return v.asText();
        if (v.isObject() && v.path("content").isTextual()) return v.get("content").asText();   // an AddedToken
        throw new HydraException(src + ": key '" + key + "' must be a token string, got " + v);
    }

    private static boolean flag(ObjectNode options, String key, boolean dflt, String src) {
        return JsonKeys.boolKey(options, key, dflt, src);
    }

    private static void special(ArrayNode template, String token, int type) {
        template.addObject().putObject("SpecialToken").put("id", token).put("type_id", type);
    }

    private static void sequence(ArrayNode template, String id, int type) {
        template.addObject().putObject("Sequence").put("id", id).put("type_id", type);
    }
}
