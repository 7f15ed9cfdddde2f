package dev.hydra.spark;

import org.apache.spark.launcher.JavaModuleOptions;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;

/** The JVM flags of this module (pom property hydra.spark.jvm.flags, used by the tests and ./hydra) cover Spark's own list. */
class SparkJvmFlagsTest {
    @Test
    void theTestJvmRunsWithEveryFlagSparksLauncherGives() {
        assertThat(ManagementFactory.getRuntimeMXBean().getInputArguments()).contains(JavaModuleOptions.defaultModuleOptionArray());
    }
}
