package dev.hydra.spark;

import org.apache.spark.sql.SparkSession;

/** The test JVM's Spark: local mode on two cores, no UI, two shuffle partitions. */
final class LocalSpark {
    private LocalSpark() {}

    static synchronized SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("hydra-spark tests")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.host", "127.0.0.1").getOrCreate();
    }
}
