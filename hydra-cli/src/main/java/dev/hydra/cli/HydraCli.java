package dev.hydra.cli;

import dev.hydra.HydraException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** The {@code hydra} command: subcommands, and one-line errors (with {@code --verbose}, the trace). */
@Command(name = "hydra", mixinStandardHelpOptions = true, version = "hydra 0.1.0",
        description = "Hydra bidirectional state-space layers on the JVM.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:bad input or a failed check (one line on stderr: hydra: ...)", "2:bad usage"},
        subcommands = {LayerCommand.class, MatrixCommand.class, DemoCommand.class, PlotCommand.class, EncodeCommand.class,
                ClassifyCommand.class, FillMaskCommand.class, TokenizeCommand.class, ConvertCommand.class, InspectCommand.class,
                BenchCommand.class, ServeCommand.class, CommandLine.HelpCommand.class})
public final class HydraCli {

    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print the stack trace of an error.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code: 0 ok, 1 bad input or failure, 2 bad usage. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, printing results to {@code out} and errors to {@code err}. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return execute(new HydraCli(), out, err, args);
    }

    /**
     * Runs any picocli command with the CLI's error conventions (one line {@code hydra: ...}, exit codes
     * 0/1/2, {@code --verbose} for the trace when the command declares it); for commands that live
     * outside this module, such as {@code hydra spark-encode}.
     */
    public static int execute(Object command, PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (verbose(parsed)) ex.printStackTrace(cmd.getErr());
            String msg = ex instanceof HydraException ? ex.getMessage()
                    : ex.getClass().getSimpleName() + (ex.getMessage() == null ? "" : ": " + ex.getMessage());
            cmd.getErr().println("hydra: " + firstLine(msg));
            return 1;
        });
        cl.setParameterExceptionHandler((ex, args1) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("hydra: " + firstLine(ex.getMessage()) + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            return CommandLine.ExitCode.USAGE;
        });
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** --verbose given at any level: {@code hydra --verbose layer ...} or {@code hydra layer ... --verbose}. */
    private static boolean verbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand())
            if (p.hasMatchedOption("--verbose")) return true;
        return false;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
