package dev.hydra.tests.cli;

import dev.hydra.cli.HydraCli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the {@code hydra} command: its exit code, stdout and stderr. */
record CliRun(int code, String out, String err) {

    static CliRun of(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = HydraCli.run(new PrintWriter(out), new PrintWriter(err), args);
        return new CliRun(code, out.toString(), err.toString());
    }

    /** stderr split into lines. */
    String[] errLines() {
        return err.isEmpty() ? new String[0] : err.split("\n");
    }
}
