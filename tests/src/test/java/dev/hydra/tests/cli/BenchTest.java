package dev.hydra.tests.cli;

import dev.hydra.cli.HydraCli;
import dev.hydra.layer.HydraLayer;
import dev.hydra.runtime.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code hydra bench --stages} on a small Hydra layer: one row per stage, in the layer's order, whose shares add up;
 * the share of the scan's counted FLOPs a backend that runs shorter chunks computes.
 */
class BenchTest {
    @TempDir
    Path dir;

    @Test
    void benchStagesPrintsOneRowPerStageInOrder() throws IOException {
        String out = benchStages(32);
        assertThat(out).contains("B=2 L=100").containsPattern("forward: median [0-9.]+ ms of \\d+ runs");
        Matcher row = Pattern.compile("^(in_proj|conv|dt|scan fwd|scan bwd|fc_D|mix\\+norm|out_proj) +([0-9.]+) +([0-9.]+)% +(\\S+) +(\\S+)$",
                Pattern.MULTILINE).matcher(out);
        List<String> stages = new ArrayList<>();
        double shares = 0;
        while (row.find()) {
            stages.add(row.group(1));
            shares += Double.parseDouble(row.group(3));
            // element-wise stages count no FLOPs; every other stage reports its rate
            if (row.group(1).equals("dt") || row.group(1).equals("mix+norm")) assertThat(row.group(4)).isEqualTo("-");
            else assertThat(Double.parseDouble(row.group(4))).as(row.group()).isPositive();
        }
        assertThat(stages).as(out).isEqualTo(HydraLayer.STAGES);
        assertThat(shares).isCloseTo(100, within(0.5));
    }

    @Test
    void benchStagesSaysWhatShareOfTheCountedScanFlopsShorterChunksCompute() throws IOException {
        // chunk_size 128 on the Vector API backend, which computes in chunks of 64: per step and direction
        // G N Q + H (P Q + 4 N P) = 1024 + 8 (1024 + 1024) FLOPs against 2048 + 8 (2048 + 1024), 65%
        String line = "scan: GFLOP/s count chunk_size 128's FLOPs; the vector backend computes in chunks of 64 steps, 65% of them";
        if (Backends.vectorized()) assertThat(benchStages(128)).contains(line);
        else assertThat(benchStages(128)).doesNotContain("scan: GFLOP/s");
        assertThat(benchStages(64)).doesNotContain("scan: GFLOP/s");
    }

    /** {@code hydra bench --stages} on a d_model 64 layer of the given chunk_size, at (2, 100): its stdout. */
    private String benchStages(int chunk) throws IOException {
        Path cfg = Files.writeString(dir.resolve("hydra.json"),
                "{\"d_model\": 64, \"d_state\": 16, \"d_conv\": 5, \"expand\": 2, \"headdim\": 16, \"chunk_size\": " + chunk + "}");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(buf, true));
        try {
            StringWriter err = new StringWriter();
            assertThat(HydraCli.run(new PrintWriter(System.out, true), new PrintWriter(err), "bench", "--config", cfg.toString(), "--batch", "2",
                    "--seqlen", "100", "--threads", "2", "--stages", "--min-runs", "3", "--seconds", "0.05")).as(err.toString()).isZero();
        } finally {
            System.setOut(old);
        }
        return buf.toString();
    }
}
