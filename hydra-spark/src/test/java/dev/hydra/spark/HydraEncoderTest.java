package dev.hydra.spark;

import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** HydraEncoder in Spark local mode (local[2], three partitions) against the library on the same inputs. */
class HydraEncoderTest {
    @TempDir static Path tmp;
    static Path modelDir;
    static HydraBert bert;
    static SparkSession spark;

    @BeforeAll
    static void setUp() {
        modelDir = TestModels.tiny(tmp.resolve("model"));
        bert = HydraBert.load(modelDir);
        spark = TestModels.spark();
    }

    @AfterAll
    static void tearDown() {
        bert.close();
    }

    /** Rows (id, text) over three partitions: texts, with a null and an empty and a blank text among them. */
    static Dataset<Row> textRows(List<String> texts) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create("doc-" + i, texts.get(i), i * 10));
        StructType schema = new StructType().add("id", DataTypes.StringType).add("text", DataTypes.StringType).add("n", DataTypes.IntegerType);
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 3), schema);
    }

    static List<String> corpusWithGaps() {
        List<String> texts = new ArrayList<>(TestModels.texts(1, 60));
        texts.set(7, null);
        texts.set(23, "");
        texts.set(41, "   ");
        return texts;
    }

    static void assertClose(float[] actual, double[] expected) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++)
            assertThat((double) actual[i]).as("element %d", i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-6));
    }

    static float[] floats(Row row, int field) {
        List<Float> v = row.getList(field);
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i);
        return f;
    }

    @Test
    void textEmbeddingsEqualTheLibraryInOrderWithEveryColumn() {
        List<String> texts = corpusWithGaps();
        Dataset<Row> in = textRows(texts);
        assertThat(in.rdd().getNumPartitions()).isEqualTo(3);
        for (String pool : new String[] {"cls", "mean"}) {
            HydraEncoder enc = new HydraEncoder().setModelPath(modelDir.toString()).setPooling(pool).setBatchSize(4);
            List<Row> out = enc.transform(in).collectAsList();
            assertThat(out).hasSize(texts.size());
            HydraBert.Pool p = pool.equals("cls") ? HydraBert.Pool.CLS : HydraBert.Pool.MEAN;
            for (int i = 0; i < texts.size(); i++) {
                Row r = out.get(i);
                assertThat(r.getString(0)).isEqualTo("doc-" + i);
                assertThat(r.getString(1)).isEqualTo(texts.get(i));
                assertThat(r.getInt(2)).isEqualTo(i * 10);
                if (texts.get(i) == null || texts.get(i).isBlank()) assertThat(r.isNullAt(3)).as("row %d", i).isTrue();
                else assertClose(floats(r, 3), bert.embed(List.of(texts.get(i)), p)[0]);
            }
            assertThat(enc.malformedRows()).isZero();
            assertThat(enc.rows()).isEqualTo(texts.size());
        }
    }

    @Test
    void tokenIdRowsEqualTheLibraryAndMalformedRowsAreCountedAsNull() {
        SplittableRandom r = new SplittableRandom(5);
        List<Row> rows = new ArrayList<>();
        List<int[]> ids = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int[] seq = r.ints(1 + r.nextInt(TestModels.MAX_POSITIONS), 0, TestModels.VOCAB_SIZE).toArray();
            if (i == 4) seq[2] = TestModels.VOCAB_SIZE;                               // out of the vocabulary
            if (i == 17) seq[0] = -1;
            if (i == 30) seq = r.ints(TestModels.MAX_POSITIONS + 1, 0, TestModels.VOCAB_SIZE).toArray();  // too long
            ids.add(i == 9 ? null : i == 12 ? new int[0] : seq);
            rows.add(RowFactory.create((long) i, ids.get(i)));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("ids", DataTypes.createArrayType(DataTypes.IntegerType));
        Dataset<Row> in = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, 4), schema);
        HydraEncoder enc = new HydraEncoder().setModelPath(modelDir.toString()).setInputCol("ids").setOutputCol("vec").setBatchSize(8);
        List<Row> out = enc.transform(in).collectAsList();
        assertThat(out).hasSize(50);
        assertThat(enc.malformedRows()).isEqualTo(3);
        assertThat(enc.malformedReasons()).anyMatch(s -> s.contains("outside the vocabulary [0, 50)"));
        assertThat(enc.malformedReasons()).anyMatch(s -> s.contains("more than the model's 32 positions"));
        for (int i = 0; i < 50; i++) {
            assertThat(out.get(i).getLong(0)).isEqualTo(i);
            if (i == 4 || i == 9 || i == 12 || i == 17 || i == 30) {
                assertThat(out.get(i).isNullAt(2)).as("row %d", i).isTrue();
                continue;
            }
            Output o = bert.encode(List.of(new Encoded(ids.get(i), new int[ids.get(i).length], null)), null).getFirst();
            assertClose(floats(out.get(i), 2), o.pooled(0));
        }
    }

    @Test
    void bigintTokenIdsAreAccepted() {
        StructType schema = new StructType().add("ids", DataTypes.createArrayType(DataTypes.LongType));
        Dataset<Row> in = spark.createDataFrame(List.of(RowFactory.create((Object) new long[] {2, 6, 7, 3})), schema);
        Row out = new HydraEncoder().setModelPath(modelDir.toString()).setInputCol("ids").transform(in).collectAsList().getFirst();
        assertClose(floats(out, 1), bert.encode(List.of(new Encoded(new int[] {2, 6, 7, 3}, new int[4], null)), null).getFirst().pooled(0));
    }

    @Test
    void classifyGivesTheLibrarysLabelProbabilityAndLogits() {
        List<String> texts = corpusWithGaps();
        HydraEncoder enc = new HydraEncoder().setModelPath(modelDir.toString()).setTask("classify").setOutputCol("label");
        List<Row> out = enc.transform(textRows(texts)).collectAsList();
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null || texts.get(i).isBlank()) {
                assertThat(out.get(i).isNullAt(3)).isTrue();
                continue;
            }
            HydraBert.Classification c = bert.classify(List.of(texts.get(i))).getFirst();
            Row label = out.get(i).getStruct(3);
            assertThat(label.getString(0)).isEqualTo(c.name());
            assertThat(label.getInt(1)).isEqualTo(c.label());
            assertThat(label.getDouble(2)).isCloseTo(c.probabilities()[c.label()], org.assertj.core.data.Offset.offset(1e-12));
            float[] logits = floats(label, 3);
            double[] softmax = new double[logits.length];
            double sum = 0;
            for (int k = 0; k < logits.length; k++) sum += softmax[k] = Math.exp(logits[k]);
            for (int k = 0; k < logits.length; k++) assertThat(softmax[k] / sum).isCloseTo(c.probabilities()[k], org.assertj.core.data.Offset.offset(1e-6));
        }
    }

    @Test
    void fillMaskGivesTheLibrarysTopKAndCountsTextsWithoutAMask() {
        List<String> texts = List.of("the cat [MASK] on the mat", "a [MASK] sat on [MASK]", "no mask here");
        HydraEncoder enc = new HydraEncoder().setModelPath(modelDir.toString()).setTask("fill-mask").setTopK(3).setOutputCol("fill");
        List<Row> out = enc.transform(textRows(texts)).collectAsList();
        for (int i = 0; i < 2; i++) {
            List<HydraBert.Prediction> expected = bert.fillMask(texts.get(i), 3).stream().flatMap(List::stream).toList();
            List<Row> actual = out.get(i).getList(3);
            assertThat(actual).hasSize(expected.size());
            for (int k = 0; k < expected.size(); k++) {
                assertThat(actual.get(k).getInt(0)).isEqualTo(expected.get(k).position());
                assertThat(actual.get(k).getInt(1)).isEqualTo(expected.get(k).tokenId());
                assertThat(actual.get(k).getString(2)).isEqualTo(expected.get(k).token());
                assertThat(actual.get(k).getDouble(3)).isEqualTo(expected.get(k).score());
            }
        }
        assertThat(out.get(2).isNullAt(3)).isTrue();
        assertThat(enc.malformedRows()).isEqualTo(1);
    }

    @Test
    void rowsTheModelRefusesAreRetriedOneByOneAndCounted() {
        Path headless = TestModels.tiny(tmp.resolve("headless"), false);
        List<String> texts = List.of("the cat", "a dog sat", "the mat");
        HydraEncoder enc = new HydraEncoder().setModelPath(headless.toString()).setTask("classify").setOutputCol("label");
        List<Row> out = enc.transform(textRows(texts)).collectAsList();
        assertThat(out).hasSize(3).allMatch(r -> r.isNullAt(3));
        assertThat(enc.malformedRows()).isEqualTo(3);
        assertThat(enc.malformedReasons()).contains("classify: the checkpoint has no classification head (classifier.*)");
    }

    @Test
    void aMissingModelFailsInOneLineBeforeAnyTask() {
        Dataset<Row> in = textRows(List.of("the cat"));
        var tracker = spark.sparkContext().statusTracker();
        spark.sparkContext().setJobGroup("missing-model", "a transform with a missing model", false);
        try {
            String missing = tmp.resolve("no-such-model").toString();
            assertThatThrownBy(() -> new HydraEncoder().setModelPath(missing).transform(in))
                    .isInstanceOf(HydraException.class).hasMessage(missing + ": no such model directory");
            assertThatThrownBy(() -> new HydraEncoder().transform(in)).hasMessage("HydraEncoder: modelPath is not set");
            assertThat(tracker.getJobIdsForGroup("missing-model")).isEmpty();
        } finally {
            spark.sparkContext().clearJobGroup();
        }
    }

    @Test
    void badSchemasFailInOneLine() {
        Dataset<Row> in = textRows(List.of("the cat"));
        String m = modelDir.toString();
        assertThatThrownBy(() -> new HydraEncoder().setModelPath(m).setInputCol("body").transform(in))
                .hasMessage("HydraEncoder: no input column 'body' (columns: id, text, n)");
        assertThatThrownBy(() -> new HydraEncoder().setModelPath(m).setInputCol("n").transform(in))
                .hasMessage("HydraEncoder: input column 'n' is int, expected string or array<int>/array<bigint>");
        assertThatThrownBy(() -> new HydraEncoder().setModelPath(m).setOutputCol("id").transform(in))
                .hasMessage("HydraEncoder: output column 'id' already exists");
        assertThatThrownBy(() -> new HydraEncoder().setPooling("max")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void paramsAreListedAndCopied() {
        HydraEncoder enc = new HydraEncoder().setModelPath("m").setBatchSize(7);
        assertThat(Arrays.stream(enc.params()).map(p -> p.name()))
                .containsExactlyInAnyOrder("backend", "batchSize", "inputCol", "modelPath", "outputCol", "pooling", "precision", "task", "topK");
        HydraEncoder copy = enc.copy(new org.apache.spark.ml.param.ParamMap());
        assertThat(copy.uid()).isEqualTo(enc.uid());
        assertThat(copy.getOrDefault(copy.batchSize())).isEqualTo(7);
        assertThat(copy.getOrDefault(copy.modelPath())).isEqualTo("m");
    }

    @Test
    void aJvmLoadsEachModelOnceUnderConcurrentRequests() throws Exception {
        ModelCache.Key key = new ModelCache.Key(modelDir.toString(), "fp32", "cpu", 5, 1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<HydraBert>> got = new ArrayList<>();
            Callable<HydraBert> load = () -> ModelCache.get(key, new org.apache.hadoop.conf.Configuration());
            for (int i = 0; i < 8; i++) got.add(pool.submit(load));
            HydraBert first = got.getFirst().get();
            for (Future<HydraBert> f : got) assertThat(f.get()).isSameAs(first);
        } finally {
            pool.shutdown();
        }
    }
}
