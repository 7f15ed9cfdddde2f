package dev.hydra.spark;

import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

import java.io.Serial;
import java.util.Arrays;
import java.util.List;

/**
 * A Spark ML {@link Transformer} that runs a Hydra BERT over a column of texts (string) or token ids
 * (array of int or bigint) and appends one output column: the pooled embedding ({@code array<float>}),
 * the classification, or the top-k fill-mask tokens (see {@link Task}). Every input row gives exactly one
 * output row, in order, with all its columns. Each executor JVM loads the model once (from any Hadoop
 * FileSystem path) and shares it between its tasks; each sequence is computed as if alone
 * ({@code Padding.NONE}), so results do not depend on partitioning or batching.
 */
public final class HydraEncoder extends Transformer {
    @Serial private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> pooling;
    private final Param<String> task;
    private final IntParam batchSize;
    private final IntParam topK;
    private final Param<String> precision;
    private final Param<String> backend;
    private transient LongAccumulator rows;
    private transient LongAccumulator malformed;
    private transient CollectionAccumulator<String> malformedReasons;

    public HydraEncoder() {
        this(Identifiable$.MODULE$.randomUID("hydraEncoder"));
    }

    public HydraEncoder(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "model directory (config.json, model.safetensors, tokenizer.json) on any Hadoop FileSystem");
        inputCol = new Param<>(this, "inputCol", "input column: string texts or array<int|bigint> token ids");
        outputCol = new Param<>(this, "outputCol", "output column to add");
        pooling = new Param<>(this, "pooling", "embedding pooling: cls (the model's pooler) or mean (mean of the token states)",
                ParamValidators.inArray(new String[] {"cls", "mean"}));
        task = new Param<>(this, "task", "embed, classify or fill-mask", ParamValidators.inArray(new String[] {"embed", "classify", "fill-mask"}));
        batchSize = new IntParam(this, "batchSize", "sequences per forward batch (bucketed by length)", ParamValidators.gtEq(1));
        topK = new IntParam(this, "topK", "fill-mask: candidates per mask position", ParamValidators.gtEq(1));
        precision = new Param<>(this, "precision", "fp32 or fp64", ParamValidators.inArray(new String[] {"fp32", "fp64"}));
        backend = new Param<>(this, "backend", "cpu, scalar, gpu or auto", ParamValidators.inArray(new String[] {"cpu", "scalar", "gpu", "auto"}));
        setDefault(inputCol, "text");
        setDefault(outputCol, "embedding");
        setDefault(pooling, "cls");
        setDefault(task, "embed");
        setDefault(batchSize, 32);
        setDefault(topK, 5);
        setDefault(precision, "fp32");
        setDefault(backend, "cpu");
    }

    @Override
    public String uid() {
        return uid;
    }

    // Spark lists a stage's params by reflection over its public no-argument methods that return a Param.
    public Param<String> modelPath() { return modelPath; }
    public Param<String> inputCol() { return inputCol; }
    public Param<String> outputCol() { return outputCol; }
    public Param<String> pooling() { return pooling; }
    public Param<String> task() { return task; }
    public IntParam batchSize() { return batchSize; }
    public IntParam topK() { return topK; }
    public Param<String> precision() { return precision; }
    public Param<String> backend() { return backend; }

    public HydraEncoder setModelPath(String v) { set(modelPath, v); return this; }
    public HydraEncoder setInputCol(String v) { set(inputCol, v); return this; }
    public HydraEncoder setOutputCol(String v) { set(outputCol, v); return this; }
    public HydraEncoder setPooling(String v) { set(pooling, v); return this; }
    public HydraEncoder setTask(String v) { set(task, v); return this; }
    public HydraEncoder setBatchSize(int v) { set(batchSize, v); return this; }
    public HydraEncoder setTopK(int v) { set(topK, v); return this; }
    public HydraEncoder setPrecision(String v) { set(precision, v); return this; }
    public HydraEncoder setBackend(String v) { set(backend, v); return this; }

    /**
     * Checks the model directory on the driver (so a missing model fails before any task starts) and
     * returns the rows with the output column appended; nothing runs until an action.
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema());
        boolean tokenIds = isTokenIds(dataset.schema().apply(getOrDefault(inputCol)).dataType());
        SparkSession spark = dataset.sparkSession();
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        checkModel(conf, !tokenIds);
        rows = spark.sparkContext().longAccumulator("hydra rows");
        malformed = spark.sparkContext().longAccumulator("hydra malformed rows");
        malformedReasons = spark.sparkContext().collectionAccumulator("hydra malformed row reasons");
        var settings = new PartitionEncoder.Settings(
                new ModelCache.Key(getOrDefault(modelPath), getOrDefault(precision), getOrDefault(backend), (Integer) getOrDefault(batchSize), 1),
                Task.named(getOrDefault(task)), getOrDefault(pooling).equals("mean") ? HydraBert.Pool.MEAN : HydraBert.Pool.CLS,
                (Integer) getOrDefault(topK), tokenIds, dataset.schema().fieldIndex(getOrDefault(inputCol)));
        return dataset.toDF().mapPartitions(
                new PartitionEncoder(settings, new SerializableConfiguration(conf), rows, malformed, malformedReasons), Encoders.row(out));
    }

    /**
     * Fails in one line unless {@code modelPath} is set and names a model directory (with tokenizer.json
     * when {@code texts}); {@link #transform} calls it, a job may call it before reading its input.
     */
    public void checkModel(Configuration hadoopConf, boolean texts) {
        if (!isDefined(modelPath)) throw new HydraException("HydraEncoder: modelPath is not set");
        ModelFiles.require(getOrDefault(modelPath), texts, hadoopConf);
    }

    @Override
    public StructType transformSchema(StructType schema) {
        String in = getOrDefault(inputCol), outCol = getOrDefault(outputCol);
        if (!Arrays.asList(schema.fieldNames()).contains(in))
            throw new HydraException("HydraEncoder: no input column '" + in + "' (columns: " + String.join(", ", schema.fieldNames()) + ")");
        DataType type = schema.apply(in).dataType();
        if (!type.equals(DataTypes.StringType) && !isTokenIds(type))
            throw new HydraException("HydraEncoder: input column '" + in + "' is " + type.simpleString() + ", expected string or array<int>/array<bigint>");
        Task t = Task.named(getOrDefault(task));
        if (t == Task.FILL_MASK && isTokenIds(type))
            throw new HydraException("HydraEncoder: fill-mask takes texts, but input column '" + in + "' holds token ids");
        if (Arrays.asList(schema.fieldNames()).contains(outCol))
            throw new HydraException("HydraEncoder: output column '" + outCol + "' already exists");
        return schema.add(outCol, t.outputType, true);
    }

    private static boolean isTokenIds(DataType type) {
        return type instanceof ArrayType a && (a.elementType().equals(DataTypes.IntegerType) || a.elementType().equals(DataTypes.LongType));
    }

    /** Rows processed by the last action on the last transform's output. */
    public long rows() {
        return rows == null ? 0 : rows.value();
    }

    /** Rows given null because they were malformed, counted by the last action on the last transform's output. */
    public long malformedRows() {
        return malformed == null ? 0 : malformed.value();
    }

    /** Why some of those rows were malformed (a few per task). */
    public List<String> malformedReasons() {
        return malformedReasons == null ? List.of() : List.copyOf(malformedReasons.value());
    }

    @Override
    public HydraEncoder copy(ParamMap extra) {
        return (HydraEncoder) defaultCopy(extra);
    }
}
