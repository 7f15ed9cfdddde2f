package dev.hydra.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.HydraBert.Pool;
import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import dev.hydra.server.batch.Batcher;
import dev.hydra.server.metrics.Metrics;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible embedding server for one Hydra BERT model on Helidon SE (a virtual thread per
 * request): {@code POST /v1/embeddings}, {@code GET /v1/models}, {@code POST /v1/classify},
 * {@code POST /v1/fill-mask}, {@code GET /health}, {@code GET /metrics}. Every model call goes through one
 * {@link Batcher}. {@link #start} listens at once ({@code /health} answers 503 until {@link #serve} has
 * loaded and warmed the engine); {@link #close} stops taking requests, answers every queued one and stops.
 */
public final class EmbeddingServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private static final List<String> ROUTES = List.of("/v1/embeddings", "/v1/models", "/v1/classify", "/v1/fill-mask", "/health", "/metrics");
    private static final int DEFAULT_TOP_K = 5;
    private static final long IN_FLIGHT_WAIT_MILLIS = 30_000;

    private enum State { LOADING, READY, STOPPING, STOPPED }

    private final ServerConfig config;
    private final Metrics metrics = new Metrics();
    private final WebServer web;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile State state = State.LOADING;
    private volatile HydraBert bert;
    private volatile Batcher batcher;
    private volatile int maxTokens;
    private volatile Pool pool;
    private volatile long created;

    private EmbeddingServer(ServerConfig config) {
        this.config = config;
        try {
            // Nagle's algorithm held back the tail of each response larger than one write (768 floats as JSON
            // are ~9 KB, written in 4 KB pieces) until the client's delayed ACK, 40 ms later on Linux
            this.web = WebServer.builder().host(config.host()).port(config.port()).shutdownHook(false)
                    .connectionOptions(o -> o.tcpNoDelay(true)).writeBufferSize(64 * 1024)
                    .routing(this::routes).build().start();
        } catch (RuntimeException e) {
            throw new HydraException("cannot listen on " + config.host() + ":" + config.port() + " (" + rootMessage(e) + ")");
        }
    }

    /** Listens on the configured address; every route but /health and /metrics answers 503 until {@link #serve}. */
    public static EmbeddingServer start(ServerConfig config) {
        return new EmbeddingServer(config);
    }

    /** Serves the model, each batch through {@link HydraBert#encode(List, java.util.function.IntConsumer)}. */
    public void serve(HydraBert model) {
        serve(model, sequences -> model.encode(sequences, null));
    }

    /**
     * Serves the model with {@code engine} running the batches (the model tokenizes, pools and runs the
     * heads); warms the engine up, then reports ready.
     */
    public void serve(HydraBert model, Batcher.Engine engine) {
        if (state != State.LOADING) throw new HydraException("the server already serves a model or has stopped");
        if (config.pool() == Pool.CLS && !model.model().hasPooler())
            throw new HydraException("--pool cls: the model has no pooler (a masked-LM model); use --pool mean");
        pool = config.pool() != null ? config.pool() : model.model().hasPooler() ? Pool.CLS : Pool.MEAN;
        int modelMax = model.model().config().maxPositionEmbeddings();
        maxTokens = config.maxInputTokens() == 0 ? modelMax : config.maxInputTokens();
        warmUp(engine, model.model().config().vocabSize());
        bert = model;
        batcher = new Batcher(engine, metrics, config.maxBatch(), config.maxWaitMillis(), config.maxQueue());
        created = System.currentTimeMillis() / 1000;
        state = State.READY;
    }

    /** A few batches of the shapes the server will see, so that the first requests do not pay for JIT compilation. */
    private static void warmUp(Batcher.Engine engine, int vocab) {
        for (int round = 0; round < 3; round++)
            for (int len : new int[] {4, 16}) {
                int[] ids = new int[len];
                for (int t = 0; t < len; t++) ids[t] = (t * 7 + 1) % vocab;
                Encoded e = new Encoded(ids, new int[len], new String[len]);
                engine.run(List.of(e, e));
            }
    }

    public int port() {
        return web.port();
    }

    public Metrics metrics() {
        return metrics;
    }

    /** Requests submitted to the engine and not yet answered (queued, waiting for their batch, or running). */
    public int pending() {
        Batcher b = batcher;
        return b == null ? 0 : b.pending();
    }

    /**
     * Graceful stop: new requests get 503, every queued request is run and answered, then the listener
     * closes. Idempotent. The model stays open (its owner closes it).
     */
    @Override
    public synchronized void close() {
        if (state == State.STOPPED) return;
        state = State.STOPPING;
        Batcher b = batcher;
        if (b != null) b.close();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IN_FLIGHT_WAIT_MILLIS);
        try {
            while (inFlight.get() > 0 && System.nanoTime() < deadline) Thread.sleep(5);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        web.stop();
        state = State.STOPPED;
    }

    private void routes(HttpRouting.Builder r) {
        r.post("/v1/embeddings", (req, res) -> handle("/v1/embeddings", req, res, this::embeddings))
         .get("/v1/models", (req, res) -> handle("/v1/models", req, res, body -> models()))
         .post("/v1/classify", (req, res) -> handle("/v1/classify", req, res, this::classify))
         .post("/v1/fill-mask", (req, res) -> handle("/v1/fill-mask", req, res, this::fillMask))
         .get("/health", this::health)
         .get("/metrics", this::prometheus)
         .any(this::unknownRoute);
    }

    /** What a route does with a request's parsed body: the JSON it answers with. */
    @FunctionalInterface
    private interface Route {
        byte[] reply(JsonNode body) throws IOException;
    }

    private void handle(String route, ServerRequest req, ServerResponse res, Route what) {
        long start = System.nanoTime();
        inFlight.incrementAndGet();
        metrics.request(route);
        int status = 200;
        try {
            checkKey(req);
            if (state != State.READY)
                throw new ApiError(503, "server_error", state == State.LOADING ? "loading" : "shutting_down", null,
                        state == State.LOADING ? "the model is still loading" : "the server is shutting down");
            byte[] reply = what.reply(Method.POST.equals(req.prologue().method()) ? body(req) : JSON.createObjectNode());
            res.header(HeaderNames.CONTENT_TYPE, "application/json").send(reply);
        } catch (ApiError e) {
            status = e.status;
            sendError(res, e);
        } catch (HydraException e) {
            status = 400;
            sendError(res, new ApiError(400, "invalid_request_error", "invalid_value", null, e.getMessage()));
        } catch (IOException | RuntimeException e) {
            status = 500;
            sendError(res, new ApiError(500, "server_error", "internal_error", null, "internal error: " + rootMessage(e)));
        } finally {
            metrics.response(status, (System.nanoTime() - start) / 1e9);
            inFlight.decrementAndGet();
        }
    }

    private void checkKey(ServerRequest req) {
        if (config.apiKey() == null) return;
        String given = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
        byte[] expected = ("Bearer " + config.apiKey()).getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8)))
            throw new ApiError(401, "invalid_request_error", "invalid_api_key", null,
                    given.isEmpty() ? "missing API key: send the header 'Authorization: Bearer KEY'" : "incorrect API key");
    }

    /** The request body as JSON (an object), read up to the body size limit. */
    private JsonNode body(ServerRequest req) {
        long limit = config.maxBodyBytes();
        long declared = req.headers().contentLength().orElse(-1);
        if (declared > limit)
            throw ApiError.tooLarge(null, "the request body has " + declared + " bytes, more than the limit of " + limit);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (InputStream in = req.content().inputStream()) {
            byte[] chunk = new byte[16384];
            for (int n; (n = in.read(chunk)) > 0; ) {
                buffer.write(chunk, 0, n);
                if (buffer.size() > limit)
                    throw ApiError.tooLarge(null, "the request body has more than " + limit + " bytes, the limit");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        JsonNode body;
        try {
            body = JSON.readTree(buffer.toByteArray());
        } catch (JsonProcessingException e) {
            throw new ApiError(400, "invalid_request_error", "invalid_json", null,
                    "the request body is not valid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (body == null || !body.isObject())
            throw new ApiError(400, "invalid_request_error", "invalid_json", null, "the request body must be a JSON object");
        return body;
    }

    private void checkModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) return;
        if (!m.isTextual()) throw ApiError.badField("model", "model must be a string, got " + Inputs.kind(m));
        if (!m.textValue().equals(config.modelName()))
            throw new ApiError(400, "invalid_request_error", "model_not_found", "model",
                    "model '" + m.textValue() + "' is not served here; this server serves '" + config.modelName() + "'");
    }

    /** The engine's outputs for one request's sequences, through the batcher. */
    private List<Output> run(List<Encoded> sequences) {
        CompletableFuture<List<Output>> result;
        try {
            result = batcher.submit(sequences);
        } catch (Batcher.RefusedException e) {
            if (e.reason() == Batcher.Refusal.QUEUE_FULL)
                throw new ApiError(429, "rate_limit_error", "queue_full", null, "the request queue is full (" + config.maxQueue() + " requests); retry later");
            throw new ApiError(503, "server_error", "shutting_down", null, "the server is shutting down");
        }
        try {
            return result.get();
        } catch (ExecutionException e) {
            throw new ApiError(500, "server_error", "engine_failure", null, "engine failure: " + rootMessage(e.getCause()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", "shutting_down", null, "the server is shutting down");
        }
    }

    private byte[] embeddings(JsonNode body) throws IOException {
        checkModel(body);
        boolean base64 = switch (text(body, "encoding_format", "float")) {
            case "float" -> false;
            case "base64" -> true;
            default -> throw ApiError.badField("encoding_format", "encoding_format must be 'float' or 'base64', got '" + body.get("encoding_format").textValue() + "'");
        };
        JsonNode dims = body.get("dimensions");
        int hidden = bert.model().config().hiddenSize();
        if (dims != null && !dims.isNull() && !(dims.isIntegralNumber() && dims.canConvertToInt() && dims.intValue() == hidden))
            throw ApiError.badField("dimensions", "dimensions must be " + hidden + " (the model's hidden size) or omitted, got " + dims);
        List<Encoded> sequences = Inputs.parse(body, bert, true, maxTokens);
        double[][] vectors = HydraBert.pool(run(sequences), pool);
        return listResponse(64 + vectors.length * hidden * (base64 ? 6 : 12), sequences, g -> {
            for (int i = 0; i < vectors.length; i++) {
                g.writeStartObject();
                g.writeStringField("object", "embedding");
                g.writeNumberField("index", i);
                g.writeFieldName("embedding");
                if (base64) {
                    ByteBuffer le = ByteBuffer.allocate(hidden * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                    for (double v : vectors[i]) le.putFloat((float) v);
                    g.writeString(Base64.getEncoder().encodeToString(le.array()));
                } else {
                    g.writeStartArray();
                    for (double v : vectors[i]) g.writeNumber((float) v);
                    g.writeEndArray();
                }
                g.writeEndObject();
            }
        });
    }

    private byte[] classify(JsonNode body) throws IOException {
        checkModel(body);
        if (bert.model().numLabels() == 0)
            throw new ApiError(400, "invalid_request_error", "no_classifier", null, "the model has no classification head (classifier.*)");
        List<Encoded> sequences = Inputs.parse(body, bert, false, maxTokens);
        List<HydraBert.Classification> labels = bert.classifyOutputs(run(sequences));
        return listResponse(256, sequences, g -> {
            for (int i = 0; i < labels.size(); i++) {
                HydraBert.Classification c = labels.get(i);
                g.writeStartObject();
                g.writeNumberField("index", i);
                g.writeStringField("label", c.name());
                g.writeNumberField("label_id", c.label());
                g.writeNumberField("score", c.probabilities()[c.label()]);
                g.writeArrayFieldStart("scores");
                for (int k = 0; k < c.probabilities().length; k++) {
                    g.writeStartObject();
                    g.writeStringField("label", bert.labelName(k));
                    g.writeNumberField("score", c.probabilities()[k]);
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
        });
    }

    private byte[] fillMask(JsonNode body) throws IOException {
        checkModel(body);
        if (!bert.model().hasMlmHead())
            throw new ApiError(400, "invalid_request_error", "no_mlm_head", null, "the model has no MLM head (cls.predictions.*)");
        JsonNode input = body.get("input");
        if (input == null || !input.isTextual())
            throw ApiError.badField("input", "input must be a string with a [MASK] token, got " + (input == null ? "nothing" : Inputs.kind(input)));
        int vocab = bert.model().config().vocabSize();
        JsonNode k = body.get("top_k");
        if (k != null && !k.isNull() && !(k.isIntegralNumber() && k.canConvertToInt() && k.intValue() >= 1 && k.intValue() <= vocab))
            throw ApiError.badField("top_k", "top_k must be an integer in [1, " + vocab + "], got " + k);
        int topK = k == null || k.isNull() ? DEFAULT_TOP_K : k.intValue();
        List<Encoded> sequences = Inputs.parse(body, bert, false, maxTokens);
        Encoded e = sequences.getFirst();
        try {
            HydraBert.maskPositions(e);
        } catch (HydraException none) {
            throw ApiError.badField("input", "input has no [MASK] (or <mask>) token");
        }
        List<List<HydraBert.Prediction>> masks = bert.fillMask(e, run(sequences).getFirst(), topK);
        return listResponse(256, sequences, g -> {
            for (List<HydraBert.Prediction> mask : masks) {
                g.writeStartObject();
                g.writeNumberField("position", mask.getFirst().position());
                g.writeArrayFieldStart("predictions");
                for (HydraBert.Prediction p : mask) {
                    g.writeStartObject();
                    g.writeStringField("token", p.token());
                    g.writeNumberField("token_id", p.tokenId());
                    g.writeNumberField("score", p.score());
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
        });
    }

    /** The OpenAI list envelope: {"object": "list", "data": [items], "model", "usage"}. */
    private byte[] listResponse(int sizeHint, List<Encoded> sequences, Items items) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(sizeHint);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("object", "list");
            g.writeArrayFieldStart("data");
            items.write(g);
            g.writeEndArray();
            g.writeStringField("model", config.modelName());
            usage(g, sequences);
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    @FunctionalInterface
    private interface Items {
        void write(JsonGenerator g) throws IOException;
    }

    private byte[] models() throws IOException {
        return JSON.writeValueAsBytes(Map.of("object", "list", "data", List.of(
                Map.of("id", config.modelName(), "object", "model", "created", created, "owned_by", "hydra"))));
    }

    /** Prompt tokens as the model's tokenizer counts them (special tokens included); all of them are input. */
    private static void usage(JsonGenerator g, List<Encoded> sequences) throws IOException {
        long tokens = sequences.stream().mapToLong(Encoded::length).sum();
        g.writeObjectFieldStart("usage");
        g.writeNumberField("prompt_tokens", tokens);
        g.writeNumberField("total_tokens", tokens);
        g.writeEndObject();
    }

    private static String text(JsonNode body, String field, String absent) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return absent;
        if (!v.isTextual()) throw ApiError.badField(field, field + " must be a string, got " + Inputs.kind(v));
        return v.textValue();
    }

    private void health(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        metrics.request("/health");
        State s = state;
        int status = s == State.READY ? 200 : 503;
        res.status(status).header(HeaderNames.CONTENT_TYPE, "application/json")
                .send(("{\"status\":\"" + s.name().toLowerCase() + "\"}").getBytes(StandardCharsets.UTF_8));
        metrics.response(status, (System.nanoTime() - start) / 1e9);
    }

    private void prometheus(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        metrics.request("/metrics");
        res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
                .send(metrics.prometheusText().getBytes(StandardCharsets.UTF_8));
        metrics.response(200, (System.nanoTime() - start) / 1e9);
    }

    private void unknownRoute(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        String path = req.path().path();
        boolean known = ROUTES.contains(path);
        ApiError e = known
                ? new ApiError(405, "invalid_request_error", "method_not_allowed", null, req.prologue().method().text() + " is not allowed on " + path)
                : new ApiError(404, "invalid_request_error", "unknown_route", null, "no route " + req.prologue().method().text() + " " + path
                        + "; the routes are POST /v1/embeddings, GET /v1/models, POST /v1/classify, POST /v1/fill-mask, GET /health, GET /metrics");
        metrics.request("unknown");
        sendError(res, e);
        metrics.response(e.status, (System.nanoTime() - start) / 1e9);
    }

    private static void sendError(ServerResponse res, ApiError e) {
        Map<String, Object> error = new java.util.LinkedHashMap<>();
        error.put("message", e.getMessage());
        error.put("type", e.type);
        error.put("param", e.param);
        error.put("code", e.code);
        res.status(e.status).header(HeaderNames.CONTENT_TYPE, "application/json");
        if (e.status == 429 || e.status == 503) res.header(HeaderNames.RETRY_AFTER, "1");
        try {
            res.send(JSON.writeValueAsBytes(Map.of("error", error)));
        } catch (JsonProcessingException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
