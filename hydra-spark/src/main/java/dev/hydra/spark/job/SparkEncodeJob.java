package dev.hydra.spark.job;

import dev.hydra.HydraException;
import dev.hydra.cli.HydraCli;
import dev.hydra.spark.HydraEncoder;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.concurrent.Callable;

import static org.apache.spark.sql.functions.col;

/**
 * {@code hydra spark-encode}: embeddings of a corpus on Spark. Reads Parquet, JSONL or plain text (one
 * document a line, its id the line number from 1), writes Parquet or JSONL ({@code {"id": ..., "embedding":
 * [...]}}) with one row per input row, in input order. Runs in local mode unless a master is given (or
 * spark-submit gives one); an existing SparkSession of the JVM is used and left running.
 */
@Command(name = "spark-encode", mixinStandardHelpOptions = true,
        description = "Embed a corpus with a Hydra BERT on Apache Spark; writes one row (id, embedding) per input row.")
public final class SparkEncodeJob implements Callable<Integer> {
    /** Column holding each row's position in the input while the job repartitions. */
    private static final String ROW = "__hydra_row";

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model directory (config.json, model.safetensors, tokenizer.json) on any Hadoop FileSystem: local, hdfs://, s3a://.")
    String model;

    @Option(names = "--input", required = true, paramLabel = "PATH", description = "Input file or directory.")
    String input;

    @Option(names = "--input-format", defaultValue = "auto", paramLabel = "auto|parquet|jsonl|text",
            description = "Input format; auto: by the name's extension (.parquet, .jsonl/.json, anything else text). Default: ${DEFAULT-VALUE}.")
    String inputFormat;

    @Option(names = "--output", required = true, paramLabel = "PATH", description = "Output directory (Spark part files).")
    String output;

    @Option(names = "--format", defaultValue = "parquet", paramLabel = "parquet|jsonl", description = "Output format (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--text-col", defaultValue = "text", description = "Text column of Parquet/JSONL input (default: ${DEFAULT-VALUE}).")
    String textCol;

    @Option(names = "--id-col", defaultValue = "id",
            description = "Id column copied to the output (default: ${DEFAULT-VALUE}); when the input has none, the row number from 1.")
    String idCol;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master (default: local[*] unless spark-submit sets one).")
    String master;

    @Option(names = "--partitions", paramLabel = "N", description = "Partitions to encode in (default: the input's, at least Spark's default parallelism).")
    Integer partitions;

    @Option(names = "--pool", defaultValue = "cls", paramLabel = "cls|mean", description = "Pooling (default: ${DEFAULT-VALUE}).")
    String pool;

    @Option(names = "--batch-size", defaultValue = "32", description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64", description = "Numeric precision (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu, scalar, gpu or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--force", description = "Replace an existing output directory.")
    boolean force;

    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the job in this JVM and returns the exit code: 0 ok, 1 bad input or failure, 2 bad usage. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return HydraCli.execute(new SparkEncodeJob(), out, err, args);
    }

    @Override
    public Integer call() {
        if (!format.equals("parquet") && !format.equals("jsonl"))
            throw new HydraException("--format must be parquet or jsonl, got '" + format + "'");
        if (partitions != null && partitions < 1) throw new HydraException("--partitions must be positive, got " + partitions);
        String in = inputFormat.equals("auto") ? formatOf(input) : inputFormat;
        if (!Arrays.asList("parquet", "jsonl", "text").contains(in))
            throw new HydraException("--input-format must be auto, parquet, jsonl or text, got '" + inputFormat + "'");
        HydraEncoder encoder = new HydraEncoder().setModelPath(model).setInputCol(textCol).setOutputCol("embedding")
                .setPooling(pool).setBatchSize(batchSize).setPrecision(precision).setBackend(backend);
        boolean ownSession = SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = session();
        try {
            encoder.checkModel(spark.sparkContext().hadoopConfiguration(), true);
            long start = System.nanoTime();
            Dataset<Row> rows = read(spark, in);
            Dataset<Row> encoded = encoder.transform(rows).select(col(idCol).as("id"), col("embedding"));
            var writer = encoded.write().mode(force ? SaveMode.Overwrite : SaveMode.ErrorIfExists);
            if (format.equals("parquet")) writer.parquet(output);
            else writer.option("ignoreNullFields", false).json(output);
            double seconds = (System.nanoTime() - start) / 1e9;
            PrintWriter o = spec.commandLine().getOut();
            o.printf("spark-encode: %d rows in %.1f s (%.1f rows/s) -> %s%n", encoder.rows(), seconds, encoder.rows() / seconds, output);
            if (encoder.malformedRows() > 0)
                spec.commandLine().getErr().println("hydra: " + encoder.malformedRows() + " malformed rows gave a null embedding, e.g. "
                        + String.join("; ", encoder.malformedReasons()));
            return 0;
        } finally {
            if (ownSession) spark.stop();
        }
    }

    private SparkSession session() {
        SparkSession.Builder b = SparkSession.builder().appName("hydra spark-encode");
        if (master != null) b.master(master);
        else if (!new SparkConf().contains("spark.master")) b.master("local[*]");
        SparkSession spark = b.getOrCreate();
        spark.sparkContext().setLogLevel("WARN");
        return spark;
    }

    private static String formatOf(String path) {
        String name = path.replaceAll("/+$", "").toLowerCase(java.util.Locale.ROOT);
        if (name.endsWith(".parquet")) return "parquet";
        if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson")) return "jsonl";
        return "text";
    }

    /** The input with its id column, in input order, in the wanted number of partitions. */
    private Dataset<Row> read(SparkSession spark, String in) {
        int wanted = partitions != null ? partitions : spark.sparkContext().defaultParallelism();
        if (in.equals("text")) {
            JavaRDD<String> lines = JavaSparkContext.fromSparkContext(spark.sparkContext()).textFile(input, wanted);
            StructType schema = new StructType().add(idCol, DataTypes.LongType, false).add(textCol, DataTypes.StringType, true);
            return spark.createDataFrame(lines.zipWithIndex().map(t -> RowFactory.create(t._2() + 1, t._1())), schema);
        }
        Dataset<Row> df = in.equals("parquet") ? spark.read().parquet(input) : spark.read().json(input);
        if (!Arrays.asList(df.columns()).contains(textCol))
            throw new HydraException(input + ": no column '" + textCol + "' (columns: " + String.join(", ", df.columns()) + "); set --text-col");
        boolean hasId = Arrays.asList(df.columns()).contains(idCol);
        int current = df.rdd().getNumPartitions();
        if (hasId && current >= wanted && partitions == null) return df;
        // number the rows (zipWithIndex keeps the input order), then range-partition on that number
        StructType schema = df.schema().add(ROW, DataTypes.LongType, false);
        Dataset<Row> numbered = spark.createDataFrame(df.javaRDD().zipWithIndex().map(t -> {
            Object[] v = new Object[t._1().length() + 1];
            for (int i = 0; i < v.length - 1; i++) v[i] = t._1().get(i);
            v[v.length - 1] = t._2();
            return RowFactory.create(v);
        }), schema);
        if (!hasId) numbered = numbered.withColumn(idCol, col(ROW).plus(1));
        if (partitions != null || current < wanted)
            numbered = numbered.repartitionByRange(wanted, col(ROW)).sortWithinPartitions(ROW);
        return numbered.drop(ROW);
    }
}
