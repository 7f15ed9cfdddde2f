package dev.hydra.spark.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.bert.HydraBert;
import dev.hydra.cli.HydraCli;
import dev.hydra.io.SafeTensors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** hydra spark-encode through its main entry, in this JVM (local[2]): every input and output format. */
class SparkEncodeJobTest {
    @TempDir static Path tmp;
    static Path model;
    static HydraBert bert;
    static SparkSession spark;
    static List<String> texts;

    @BeforeAll
    static void setUp() {
        model = dev.hydra.spark.TestModels.tiny(tmp.resolve("model"));
        bert = HydraBert.load(model);
        spark = dev.hydra.spark.TestModels.spark();
        texts = dev.hydra.spark.TestModels.texts(3, 40);
    }

    @AfterAll
    static void tearDown() {
        bert.close();
    }

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = SparkEncodeJob.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    /** The JSONL part files in order, one object per line. */
    static List<JsonNode> jsonl(Path dir) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        try (Stream<Path> parts = Files.list(dir)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList())
                for (String line : Files.readAllLines(part)) rows.add(json.readTree(line));
        }
        return rows;
    }

    static void assertEmbedding(JsonNode embedding, double[] expected) {
        assertThat(embedding.size()).isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) assertThat(embedding.get(i).asDouble()).isCloseTo(expected[i], offset(1e-6));
    }

    @Test
    void aTextFileGivesHydraEncodesEmbeddingsLineByLineInOrder() throws IOException {
        List<String> lines = new ArrayList<>(texts);
        lines.add(5, "");                                        // blank lines keep their row, with a null embedding
        lines.add(20, "  ");
        Path input = Files.write(tmp.resolve("corpus.txt"), lines);
        Path output = tmp.resolve("text-out");
        Result r = run("--model", model.toString(), "--input", input.toString(), "--output", output.toString(), "--format", "jsonl", "--partitions", "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("spark-encode: " + lines.size() + " rows");

        // hydra encode on the same file (it skips the blank lines): its pooled_output, fp32
        Path st = tmp.resolve("encode.safetensors");
        assertThat(HydraCli.run("encode", "--model", model.toString(), "--input-file", input.toString(), "--output", st.toString())).isZero();
        float[] pooled;
        try (SafeTensors s = SafeTensors.open(st)) {
            pooled = s.floats("pooled_output");
        }
        List<JsonNode> rows = jsonl(output);
        assertThat(rows).hasSize(lines.size());
        int d = pooled.length / texts.size(), k = 0;
        for (int i = 0; i < rows.size(); i++) {
            assertThat(rows.get(i).get("id").asLong()).isEqualTo(i + 1);
            if (lines.get(i).isBlank()) {
                assertThat(rows.get(i).get("embedding").isNull()).as("line %d", i + 1).isTrue();
                continue;
            }
            double[] expected = new double[d];
            for (int j = 0; j < d; j++) expected[j] = pooled[k * d + j];
            assertEmbedding(rows.get(i).get("embedding"), expected);
            k++;
        }
        assertThat(k).isEqualTo(texts.size());
    }

    @Test
    void jsonlAndParquetInputsKeepTheirIdsAndOrder() throws IOException {
        Path jsonIn = tmp.resolve("docs.jsonl");
        List<String> records = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (int i = 0; i < texts.size(); i++)
            records.add(json.createObjectNode().put("key", "k" + (1000 - i)).put("body", i == 3 ? null : texts.get(i)).toString());
        Files.write(jsonIn, records);
        Path parquetIn = tmp.resolve("docs.parquet");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create("k" + (1000 - i), i == 3 ? null : texts.get(i)));
        spark.createDataFrame(rows, new StructType().add("key", DataTypes.StringType).add("body", DataTypes.StringType))
                .write().parquet(parquetIn.toString());
        double[][] expected = bert.embed(texts, HydraBert.Pool.MEAN);

        for (Path input : List.of(jsonIn, parquetIn)) {
            Path out = tmp.resolve(input.getFileName() + "-out");
            Result r = run("--model", model.toString(), "--input", input.toString(), "--output", out.toString(), "--format", "jsonl",
                    "--text-col", "body", "--id-col", "key", "--pool", "mean", "--partitions", "2", "--batch-size", "4");
            assertThat(r.code()).as(r.err()).isZero();
            List<JsonNode> got = jsonl(out);
            assertThat(got).hasSize(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                assertThat(got.get(i).get("id").asText()).isEqualTo("k" + (1000 - i));
                if (i == 3) assertThat(got.get(i).get("embedding").isNull()).isTrue();
                else assertEmbedding(got.get(i).get("embedding"), expected[i]);
            }
        }
    }

    @Test
    void parquetOutputHoldsOneRowPerInputRowAndNumbersRowsWithoutAnIdColumn() throws IOException {
        Path in = tmp.resolve("noid.jsonl");
        List<String> records = new ArrayList<>();
        for (String t : texts) records.add(new ObjectMapper().createObjectNode().put("text", t).toString());
        Files.write(in, records);
        Path out = tmp.resolve("noid-out");
        Result r = run("--model", model.toString(), "--input", in.toString(), "--output", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        List<Row> got = spark.read().parquet(out.toString()).orderBy("id").collectAsList();
        assertThat(got).hasSize(texts.size());
        double[][] expected = bert.embed(texts, HydraBert.Pool.CLS);
        for (int i = 0; i < texts.size(); i++) {
            assertThat(got.get(i).getLong(0)).isEqualTo(i + 1);
            List<Float> e = got.get(i).getList(1);
            for (int j = 0; j < expected[i].length; j++) assertThat((double) e.get(j)).isCloseTo(expected[i][j], offset(1e-6));
        }
        Result again = run("--model", model.toString(), "--input", in.toString(), "--output", out.toString());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err().strip()).startsWith("hydra: ").doesNotContain("\n");
        assertThat(run("--model", model.toString(), "--input", in.toString(), "--output", out.toString(), "--force").code()).isZero();
    }

    @Test
    void aMissingModelFailsInOneLineBeforeAnyTask() throws IOException {
        Path input = Files.write(tmp.resolve("one.txt"), List.of("the cat"));
        String missing = tmp.resolve("missing-model").toString();
        long jobsBefore = spark.sparkContext().statusTracker().getActiveJobIds().length + spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
        Result r = run("--model", missing, "--input", input.toString(), "--output", tmp.resolve("never").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("hydra: " + missing + ": no such model directory" + System.lineSeparator());
        long jobsAfter = spark.sparkContext().statusTracker().getActiveJobIds().length + spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
        assertThat(jobsAfter).isEqualTo(jobsBefore);
        assertThat(Files.exists(tmp.resolve("never"))).isFalse();
    }

    @Test
    void badOptionsAreUsageOrInputErrors() throws IOException {
        Path input = Files.write(tmp.resolve("two.txt"), List.of("the cat"));
        Result noModel = run("--input", input.toString(), "--output", tmp.resolve("x").toString());
        assertThat(noModel.code()).isEqualTo(2);
        assertThat(run("--model", model.toString(), "--input", input.toString(), "--output", tmp.resolve("x").toString(), "--format", "csv").err())
                .isEqualTo("hydra: --format must be parquet or jsonl, got 'csv'" + System.lineSeparator());
        Path json = Files.write(tmp.resolve("wrong.jsonl"), List.of("{\"title\":\"the cat\"}"));
        Result noCol = run("--model", model.toString(), "--input", json.toString(), "--output", tmp.resolve("y").toString());
        assertThat(noCol.code()).isEqualTo(1);
        assertThat(noCol.err()).startsWith("hydra: " + json + ": no column 'text' (columns: title)");
    }
}
