package dev.hydra.cli;

import dev.hydra.runtime.Backends;
import dev.hydra.bert.BertModel.Padding;
import dev.hydra.bert.HydraBert;
import dev.hydra.server.EmbeddingServer;
import dev.hydra.server.ServerConfig;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code hydra serve}: the OpenAI-compatible embedding server ({@link EmbeddingServer}). Runs until
 * SIGTERM (or Ctrl-C): then it stops taking requests, answers every queued one and exits 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a Hydra BERT model over HTTP: POST /v1/embeddings (OpenAI-compatible), GET /v1/models, "
                + "POST /v1/classify, POST /v1/fill-mask, GET /health, GET /metrics; requests are batched dynamically.")
final class ServeCommand implements Callable<Integer> {
    /** Helidon's start-up lines are not ours to print; warnings still are. Held so that the setting stays. */
    private static final Logger HELIDON_LOG = Logger.getLogger("io.helidon");

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Model directory: config.json, model.safetensors, optionally tokenizer.json (without it, token ids only).")
    Path model;

    @Option(names = "--model-name", paramLabel = "NAME", description = "The name clients give as 'model' (default: the directory's name).")
    String modelName;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--backend", defaultValue = "cpu", description = "fp32 backend: cpu, scalar, gpu or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--precision", defaultValue = "fp32", paramLabel = "fp32|fp64|bf16",
            description = "Numeric precision; bf16 runs on --backend gpu only (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--pool", paramLabel = "cls|mean",
            description = "Embedding of a text: cls = the model's pooler, tanh(dense(h[CLS])); mean = the mean of its token states (default: cls, or mean for a model without a pooler).")
    String pool;

    @Option(names = "--max-batch", defaultValue = "32", description = "Sequences per engine batch at most (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5", description = "How long a batch may keep the free engine waiting for more requests (default: ${DEFAULT-VALUE}).")
    long maxWaitMs;

    @Option(names = "--max-queue", defaultValue = "1024", description = "Requests waiting at most; more are answered 429 (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:HYDRA_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on /v1 routes (default: the HYDRA_API_KEY environment variable; none when unset).")
    String apiKey;

    @Option(names = "--max-input-tokens", defaultValue = "0", paramLabel = "N",
            description = "Tokens per input at most, 413 above (default: the model's max_position_embeddings).")
    int maxInputTokens;

    @Option(names = "--max-body-bytes", defaultValue = "16777216", description = "Request body size at most, 413 above (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        HydraBert.Pool p = BertModelOptions.pool(pool);
        String name = modelName != null ? modelName : model.toAbsolutePath().normalize().getFileName().toString();
        ServerConfig config = new ServerConfig(host, port, name, p, maxBatch, maxWaitMs, maxQueue, apiKey, maxInputTokens, maxBodyBytes);
        HELIDON_LOG.setLevel(Level.WARNING);
        EmbeddingServer server = EmbeddingServer.start(config);
        out.println("hydra serve: listening on http://" + host + ":" + server.port() + " (loading " + model + ")");
        HydraBert bert;
        try {
            Precision<?> weights = BertModelOptions.precision(precision);
            bert = HydraBert.load(model, new HydraBert.Options(weights, Backends.named(backend, weights), Padding.NONE, maxBatch));
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
        try {
            server.serve(bert);
        } catch (RuntimeException e) {
            server.close();
            bert.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            bert.close();
            out.println("hydra serve: stopped");
            out.flush();
            stopped.countDown();
            Runtime.getRuntime().halt(0); // SIGTERM, answered gracefully, is a clean exit
        }, "hydra-serve-shutdown"));
        out.println("hydra serve: ready, model '" + name + "' (hidden " + bert.model().config().hiddenSize() + ", max batch " + maxBatch
                + ", max wait " + maxWaitMs + " ms)");
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
