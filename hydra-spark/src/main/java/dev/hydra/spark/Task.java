package dev.hydra.spark;

import dev.hydra.HydraException;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;

/** What {@link HydraEncoder} computes per row, and the type of its output column. */
public enum Task {
    /** The pooled embedding, {@code array<float>}. */
    EMBED("embed", DataTypes.createArrayType(DataTypes.FloatType, false)),
    /** The classifier's label (its name and index), the label's probability and the logits. */
    CLASSIFY("classify", new StructType()
            .add("label", DataTypes.StringType, false)
            .add("labelIndex", DataTypes.IntegerType, false)
            .add("probability", DataTypes.DoubleType, false)
            .add("logits", DataTypes.createArrayType(DataTypes.FloatType, false), false)),
    /** The top-k tokens of each mask position, position by position, best first. */
    FILL_MASK("fill-mask", DataTypes.createArrayType(new StructType()
            .add("position", DataTypes.IntegerType, false)
            .add("tokenId", DataTypes.IntegerType, false)
            .add("token", DataTypes.StringType, false)
            .add("score", DataTypes.DoubleType, false), false));

    final String id;
    final DataType outputType;

    Task(String id, DataType outputType) {
        this.id = id;
        this.outputType = outputType;
    }

    static Task named(String id) {
        return Arrays.stream(values()).filter(t -> t.id.equals(id)).findFirst()
                .orElseThrow(() -> new HydraException("task must be embed, classify or fill-mask, got '" + id + "'"));
    }

}
