package dev.hydra.spark.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.SeededBert;
import dev.hydra.bert.TextTokenizer.Encoded;
import dev.hydra.cli.HydraCli;
import dev.hydra.io.SafeTensorsWriter;
import dev.hydra.spark.HydraEncoder;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code hydra spark-bench}: docs/s of HydraEncoder in Spark local mode against the library path of
 * {@code hydra encode} ({@link HydraBert#encode} and pooling) on the same corpus of token-id documents, in
 * one JVM, each after a warm-up pass. The model is seeded (no checkpoint needed) unless --model is given.
 */
@Command(name = "spark-bench", mixinStandardHelpOptions = true,
        description = "Throughput of hydra-spark in local mode vs the library (hydra encode) on the same corpus.")
public final class SparkEncodeBench implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "A model directory (default: a seeded model of --hidden and --layers).")
    Path model;

    @Option(names = "--hidden", defaultValue = "256", description = "Seeded model width (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--layers", defaultValue = "4", description = "Seeded model depth (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--docs", defaultValue = "2000", description = "Corpus size (default: ${DEFAULT-VALUE}).")
    int docs;

    @Option(names = "--min-len", defaultValue = "32", description = "Shortest document in tokens (default: ${DEFAULT-VALUE}).")
    int minLen;

    @Option(names = "--max-len", defaultValue = "128", description = "Longest document in tokens (default: ${DEFAULT-VALUE}).")
    int maxLen;

    @Option(names = "--master", defaultValue = "local[*]", description = "Spark master (default: ${DEFAULT-VALUE}).")
    String master;

    @Option(names = "--batch-size", defaultValue = "32", description = "Sequences per batch, both ways (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(HydraCli.execute(new SparkEncodeBench(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Path dir = model != null ? model : seededModel();
        HydraBert.Options options = HydraBert.Options.defaults();
        options = new HydraBert.Options(options.precision(), options.backend(), options.padding(), batchSize);
        try (HydraBert bert = HydraBert.load(dir, options)) {
            BertConfig c = bert.model().config();
            List<int[]> corpus = corpus(c.vocabSize(), Math.min(maxLen, c.maxPositionEmbeddings()));
            long tokens = corpus.stream().mapToLong(d -> d.length).sum();
            List<Encoded> items = corpus.stream().map(d -> new Encoded(d, new int[d.length], null)).toList();
            HydraBert.pool(bert.encode(items.subList(0, Math.min(items.size(), 4 * batchSize)), null), HydraBert.Pool.CLS);   // warm-up
            long t0 = System.nanoTime();
            HydraBert.pool(bert.encode(items, null), HydraBert.Pool.CLS);
            double librarySeconds = (System.nanoTime() - t0) / 1e9;

            SparkSession spark = SparkSession.builder().master(master).appName("hydra spark-bench").config("spark.ui.enabled", "false").getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
            try {
                int cores = spark.sparkContext().defaultParallelism();
                Dataset<Row> df = frame(spark, corpus, cores);
                HydraEncoder encoder = new HydraEncoder().setModelPath(dir.toString()).setInputCol("ids").setBatchSize(batchSize);
                // warm-up on a few documents through the same plan: loads the model, compiles the query's code
                encoder.transform(frame(spark, corpus.subList(0, Math.min(corpus.size(), 4 * batchSize)), cores))
                        .write().format("noop").mode("overwrite").save();
                long t1 = System.nanoTime();
                encoder.transform(df).write().format("noop").mode("overwrite").save();
                double sparkSeconds = (System.nanoTime() - t1) / 1e9;
                int executors = spark.sparkContext().getExecutorMemoryStatus().size();
                out.printf("corpus: %d docs, %d tokens (%d..%d per doc); model: hidden %d, %d layers, fp32, batch %d%n",
                        corpus.size(), tokens, minLen, maxLen, c.hiddenSize(), c.numHiddenLayers(), batchSize);
                out.printf("spark: master %s, %d executor(s), %d cores, %d partitions%n", master, executors, cores, df.rdd().getNumPartitions());
                double libraryRate = corpus.size() / librarySeconds, sparkRate = corpus.size() / sparkSeconds;
                out.printf("library (hydra encode path): %.1f docs/s (%.2f s)%n", libraryRate, librarySeconds);
                out.printf("hydra-spark local mode:      %.1f docs/s (%.2f s)%n", sparkRate, sparkSeconds);
                out.printf("ratio spark / library: %.2f%n", sparkRate / libraryRate);
            } finally {
                spark.stop();
            }
        }
        return 0;
    }

    /** The documents as (id, ids) rows in {@code partitions} partitions, cached and materialized. */
    private static Dataset<Row> frame(SparkSession spark, List<int[]> docs, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < docs.size(); i++) rows.add(RowFactory.create((long) i, docs.get(i)));
        StructType schema = new StructType().add("id", DataTypes.LongType).add("ids", DataTypes.createArrayType(DataTypes.IntegerType));
        Dataset<Row> df = spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, partitions), schema).cache();
        df.count();
        return df;
    }

    private List<int[]> corpus(int vocab, int longest) {
        SplittableRandom r = new SplittableRandom(42);
        List<int[]> docsOut = new ArrayList<>();
        for (int i = 0; i < docs; i++) docsOut.add(r.ints(minLen + r.nextInt(Math.max(1, longest - minLen + 1)), 0, vocab).toArray());
        return docsOut;
    }

    private Path seededModel() throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("vocab_size", 30522).put("hidden_size", hidden).put("num_hidden_layers", layers).put("type_vocab_size", 2)
                .put("max_position_embeddings", 512).put("is_prenorm", false).put("use_position_embeddings", false)
                .put("d_state", 64).put("headdim", 64).put("expand", 2).put("d_conv", 7).put("chunk_size", 256);
        BertConfig c = BertConfig.fromJson(o, "spark-bench model");
        Path dir = Files.createTempDirectory("hydra-spark-bench-");
        dir.toFile().deleteOnExit();
        Files.writeString(dir.resolve("config.json"), c.toJson().toPrettyString());
        SeededBert.weights(c, 7, false, 0, "").writeTo(new SafeTensorsWriter(), "").write(dir.resolve("model.safetensors"), false);
        dir.resolve("config.json").toFile().deleteOnExit();
        dir.resolve("model.safetensors").toFile().deleteOnExit();
        return dir;
    }
}
