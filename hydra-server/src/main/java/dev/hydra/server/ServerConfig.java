package dev.hydra.server;

import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert.Pool;

/**
 * How {@link EmbeddingServer} listens, batches and limits.
 *
 * @param host           address to bind (127.0.0.1 unless told otherwise)
 * @param port           TCP port; 0 picks a free one
 * @param modelName      the name /v1/models lists and requests may give as {@code model}
 * @param pool           how a text's embedding is pooled (null: CLS when the model has a pooler, else mean)
 * @param maxBatch       sequences per engine batch
 * @param maxWaitMillis  how long a batch may keep the free engine waiting for more requests (see {@link dev.hydra.server.batch.Batcher})
 * @param maxQueue       requests waiting at most; one more is answered 429
 * @param apiKey         the Bearer token every /v1 request must carry, or null for none
 * @param maxInputTokens tokens per input at most (413 above), or 0 for the model's maximum length
 * @param maxBodyBytes   request body size at most (413 above)
 */
public record ServerConfig(String host, int port, String modelName, Pool pool, int maxBatch, long maxWaitMillis, int maxQueue,
                           String apiKey, int maxInputTokens, long maxBodyBytes) {
    /** Inputs per request at most, as in the OpenAI API. */
    public static final int MAX_INPUTS = 2048;

    public ServerConfig {
        if (host == null || host.isBlank()) throw new HydraException("--host must name an address");
        if (port < 0 || port > 65535) throw new HydraException("--port must be in [0, 65535], got " + port);
        if (modelName == null || modelName.isBlank()) throw new HydraException("--model-name must not be empty");
        if (maxBatch < 1) throw new HydraException("--max-batch must be positive, got " + maxBatch);
        if (maxWaitMillis < 0) throw new HydraException("--max-wait-ms must not be negative, got " + maxWaitMillis);
        if (maxQueue < 1) throw new HydraException("--max-queue must be positive, got " + maxQueue);
        if (apiKey != null && apiKey.isEmpty()) throw new HydraException("--api-key must not be empty");
        if (maxInputTokens < 0) throw new HydraException("--max-input-tokens must not be negative, got " + maxInputTokens);
        if (maxBodyBytes < 1) throw new HydraException("--max-body-bytes must be positive, got " + maxBodyBytes);
    }

    /** Loopback, port 8080, CLS pooling, batches of 32 after at most 5 ms, 1,024 queued, no key, the model's length, 16 MiB bodies. */
    public static ServerConfig defaults(String modelName) {
        return new ServerConfig("127.0.0.1", 8080, modelName, Pool.CLS, 32, 5, 1024, null, 0, 16L << 20);
    }

    public ServerConfig withPort(int p) {
        return new ServerConfig(host, p, modelName, pool, maxBatch, maxWaitMillis, maxQueue, apiKey, maxInputTokens, maxBodyBytes);
    }

    public ServerConfig withBatching(int batch, long waitMillis, int queue) {
        return new ServerConfig(host, port, modelName, pool, batch, waitMillis, queue, apiKey, maxInputTokens, maxBodyBytes);
    }

    public ServerConfig withLimits(String key, int inputTokens, long bodyBytes) {
        return new ServerConfig(host, port, modelName, pool, maxBatch, maxWaitMillis, maxQueue, key, inputTokens, bodyBytes);
    }
}
