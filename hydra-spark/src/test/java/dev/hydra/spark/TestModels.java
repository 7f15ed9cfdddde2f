package dev.hydra.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.SeededBert;
import dev.hydra.io.SafeTensorsWriter;

import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** The Spark tests' Spark session and a small Hydra BERT directory: seeded weights with both heads, config.json, a WordPiece tokenizer.json. */
public final class TestModels {
    static final int VOCAB_SIZE = 50, MAX_POSITIONS = 32;
    static final List<String> WORDS = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat",
            "dog", "##s", "a");

    private TestModels() {}

    public static Path tiny(Path dir) {
        return tiny(dir, true);
    }

    /** As {@link #tiny(Path)}; without {@code heads}, no MLM head and no classifier. */
    public static Path tiny(Path dir, boolean heads) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", VOCAB_SIZE).put("hidden_size", 16).put("num_hidden_layers", 2).put("type_vocab_size", 2)
                .put("max_position_embeddings", MAX_POSITIONS).put("is_prenorm", false).put("use_position_embeddings", false)
                .put("d_state", 4).put("headdim", 8).put("expand", 2).put("d_conv", 3).put("chunk_size", 4);
        BertConfig c = BertConfig.fromJson(o, "test config");
        try {
            Files.createDirectories(dir);
            ObjectNode json = c.toJson();
            json.putObject("id2label").put("0", "negative").put("1", "neutral").put("2", "positive");
            Files.writeString(dir.resolve("config.json"), json.toPrettyString());
            SeededBert.weights(c, 11, heads, heads ? 3 : 0, "bert.").writeTo(new SafeTensorsWriter(), "").write(dir.resolve("model.safetensors"), false);
            Files.writeString(dir.resolve("tokenizer.json"), SeededBert.wordPieceTokenizerJson(WORDS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** n texts of 1..20 words from the vocabulary (and an unknown word now and then). */
    public static List<String> texts(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        return java.util.stream.IntStream.range(0, n).mapToObj(i -> {
            StringBuilder s = new StringBuilder();
            for (int w = 1 + r.nextInt(20); w > 0; w--) s.append(r.nextInt(12) == 0 ? "zebra" : WORDS.get(5 + r.nextInt(8)).replace("##", "")).append(' ');
            return s.toString().trim();
        }).toList();
    }

    /** The test JVM's Spark: local mode on two cores, no UI, two shuffle partitions. */
    public static synchronized SparkSession spark() {
        return SparkSession.builder().master("local[2]").appName("hydra-spark tests")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
    }
}
