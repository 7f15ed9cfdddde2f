package dev.hydra.cli;

import dev.hydra.HydraException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code hydra} command: subcommands, and one-line errors (with {@code --verbose}, the trace). */
@Command(name = "hydra", mixinStandardHelpOptions = true, version = "hydra 0.1.0",
        description = "Hydra bidirectional state-space layers on the JVM.",
        subcommands = {CommandLine.HelpCommand.class, BenchCommand.class})
public final class HydraCli {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print the stack trace of an error.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code: 0 ok, 1 bad input or failure, 2 bad usage. */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new HydraCli());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            boolean verbose = parsed.hasMatchedOption("--verbose");
            if (verbose) ex.printStackTrace(cmd.getErr());
            String msg = ex instanceof HydraException ? ex.getMessage()
                    : ex.getClass().getSimpleName() + (ex.getMessage() == null ? "" : ": " + ex.getMessage());
            cmd.getErr().println("hydra: " + firstLine(msg));
            return 1;
        });
        return cl.execute(args);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
