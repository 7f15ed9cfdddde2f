package dev.hydra.spark;

import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Model directories on a non-local Hadoop FileSystem (a test scheme over the local disk): checked, copied, used. */
class ModelFilesTest {
    /** The local disk under the scheme {@code hydratest:}, which the code must treat as remote. */
    public static final class RemoteFs extends RawLocalFileSystem {
        @Override
        public URI getUri() {
            return URI.create("hydratest:///");
        }

        @Override
        public String getScheme() {
            return "hydratest";
        }
    }

    @TempDir static Path tmp;
    static Path model;

    @BeforeAll
    static void setUp() {
        model = TestModels.tiny(tmp.resolve("remote-model"));
    }

    static Configuration conf() {
        Configuration c = new Configuration();
        c.set("fs.hydratest.impl", RemoteFs.class.getName());
        return c;
    }

    @Test
    void aRemoteDirectoryIsCheckedAndCopiedToALocalDirectory() throws IOException {
        String remote = "hydratest://" + model;
        ModelFiles.require(remote, true, conf());
        Path local = ModelFiles.local(remote, conf());
        assertThat(local).isNotEqualTo(model);
        for (String f : new String[] {"config.json", "model.safetensors", "tokenizer.json"})
            assertThat(Files.mismatch(local.resolve(f), model.resolve(f))).isEqualTo(-1);
        assertThat(ModelFiles.local(model.toString(), conf())).isEqualTo(model);
        Configuration remoteDefault = conf();
        remoteDefault.set("fs.defaultFS", "hydratest:///");
        assertThat(ModelFiles.local(model.toString(), remoteDefault)).as("no scheme: the default file system").isNotEqualTo(model);
        assertThat(ModelFiles.local("file://" + model, conf())).isEqualTo(model);
    }

    @Test
    void anIncompleteRemoteDirectoryFailsInOneLine() throws IOException {
        Path partial = Files.createDirectories(tmp.resolve("partial"));
        Files.copy(model.resolve("config.json"), partial.resolve("config.json"));
        assertThatThrownBy(() -> ModelFiles.require("hydratest://" + partial, false, conf()))
                .isInstanceOf(HydraException.class).hasMessage("hydratest://" + partial + ": the model directory has no model.safetensors");
        Files.copy(model.resolve("model.safetensors"), partial.resolve("model.safetensors"));
        ModelFiles.require("hydratest://" + partial, false, conf());
        assertThatThrownBy(() -> ModelFiles.require("hydratest://" + partial, true, conf()))
                .hasMessage("hydratest://" + partial + ": the model directory has no tokenizer.json");
    }

    @Test
    void theEncoderReadsARemoteModelThroughSparksHadoopConfiguration() {
        SparkSession spark = TestModels.spark();
        spark.sparkContext().hadoopConfiguration().set("fs.hydratest.impl", RemoteFs.class.getName());
        List<Row> rows = List.of(RowFactory.create("the cat sat"), RowFactory.create("a dog"));
        var df = spark.createDataFrame(rows, new StructType().add("text", DataTypes.StringType));
        List<Row> out = new HydraEncoder().setModelPath("hydratest://" + model).transform(df).collectAsList();
        try (HydraBert bert = HydraBert.load(model)) {
            double[][] expected = bert.embed(List.of("the cat sat", "a dog"), HydraBert.Pool.CLS);
            for (int i = 0; i < 2; i++) {
                List<Float> e = out.get(i).getList(1);
                for (int j = 0; j < expected[i].length; j++) assertThat((double) e.get(j)).isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(1e-6));
            }
        }
    }
}
