package dev.hydra.tests.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import dev.hydra.server.EmbeddingServer;
import dev.hydra.server.ServerConfig;
import dev.hydra.server.batch.Batcher;
import dev.hydra.tests.bert.TinyBertDir;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.ConnectException;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.hydra.layer.Layers.narrow;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server on an ephemeral loopback port, called with Java's HttpClient: every route, every error, batching. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EmbeddingServerTest {
    static final String NAME = "tiny-hydra";
    static final List<String> TEXTS = List.of("the cat sat on the mat", "a dog", "the dogs sat", "cats", "on a mat the cat sat on the dog");

    @TempDir static Path tmp;
    static HydraBert bert;
    final List<EmbeddingServer> servers = new ArrayList<>();

    @BeforeAll
    static void load() {
        bert = HydraBert.load(TinyBertDir.create(tmp.resolve("tiny"), true));
    }

    @AfterAll
    static void unload() {
        bert.close();
    }

    @AfterEach
    void stop() {
        servers.forEach(EmbeddingServer::close);
    }

    EmbeddingServer serve(ServerConfig config, Batcher.Engine engine) {
        EmbeddingServer s = EmbeddingServer.start(config.withPort(0));
        servers.add(s);
        s.serve(bert, engine);
        return s;
    }

    EmbeddingServer serve(ServerConfig config) {
        return serve(config, sequences -> bert.encode(sequences, null));
    }

    static ServerConfig config() {
        return ServerConfig.defaults(NAME);
    }

    static String embeddingsBody(Object input, Map<String, Object> more) {
        Map<String, Object> body = new java.util.LinkedHashMap<>(more);
        body.put("input", input);
        return Http.json(body);
    }

    static float[] floats(JsonNode embedding) {
        float[] v = new float[embedding.size()];
        for (int i = 0; i < v.length; i++) v[i] = embedding.get(i).floatValue();
        return v;
    }


    @Test
    void healthIs503UntilTheModelIsServedAndWarmThen200() {
        EmbeddingServer s = EmbeddingServer.start(config().withPort(0));
        servers.add(s);
        Http http = new Http(s.port(), null);
        assertThat(http.get("/health").status()).isEqualTo(503);
        Http.Reply early = http.post("/v1/embeddings", embeddingsBody("the cat", Map.of()));
        assertThat(early.status()).isEqualTo(503);
        assertThat(early.error("code")).isEqualTo("loading");
        s.serve(bert);
        Http.Reply ready = http.get("/health");
        assertThat(ready.status()).isEqualTo(200);
        assertThat(ready.json().get("status").asText()).isEqualTo("ready");
    }

    @Test
    void embeddingsEqualTheLibrarysAndCountTokensWithTheTokenizer() {
        Http http = new Http(serve(config()).port(), null);
        Http.Reply r = http.post("/v1/embeddings", embeddingsBody(TEXTS, Map.of("model", NAME)));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.response().headers().firstValue("content-type")).hasValue("application/json");
        JsonNode json = r.json();
        assertThat(json.get("object").asText()).isEqualTo("list");
        assertThat(json.get("model").asText()).isEqualTo(NAME);
        double[][] expected = bert.embed(TEXTS, HydraBert.Pool.CLS);
        assertThat(json.get("data")).hasSize(TEXTS.size());
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode item = json.get("data").get(i);
            assertThat(item.get("object").asText()).isEqualTo("embedding");
            assertThat(item.get("index").asInt()).isEqualTo(i);
            assertThat(floats(item.get("embedding"))).containsExactly(narrow(expected[i]));
        }
        int tokens = bert.tokenize(TEXTS).stream().mapToInt(Encoded::length).sum();
        assertThat(json.get("usage").get("prompt_tokens").asInt()).isEqualTo(tokens);
        assertThat(json.get("usage").get("total_tokens").asInt()).isEqualTo(tokens);

        Http.Reply one = http.post("/v1/embeddings", embeddingsBody(TEXTS.get(2), Map.of()));
        assertThat(floats(one.json().get("data").get(0).get("embedding"))).containsExactly(narrow(expected[2]));
    }

    @Test
    void meanPoolingIsTheLibrarysMean() {
        Http http = new Http(serve(new ServerConfig("127.0.0.1", 0, NAME, HydraBert.Pool.MEAN, 32, 5, 1024, null, 0, 1 << 20)).port(), null);
        JsonNode data = http.post("/v1/embeddings", embeddingsBody(TEXTS, Map.of())).json().get("data");
        double[][] expected = bert.embed(TEXTS, HydraBert.Pool.MEAN);
        for (int i = 0; i < TEXTS.size(); i++) assertThat(floats(data.get(i).get("embedding"))).containsExactly(narrow(expected[i]));
    }

    @Test
    void base64DecodesToTheFloatOutput() {
        Http http = new Http(serve(config()).port(), null);
        JsonNode plain = http.post("/v1/embeddings", embeddingsBody(TEXTS, Map.of("encoding_format", "float"))).json();
        JsonNode packed = http.post("/v1/embeddings", embeddingsBody(TEXTS, Map.of("encoding_format", "base64"))).json();
        for (int i = 0; i < TEXTS.size(); i++) {
            ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(packed.get("data").get(i).get("embedding").asText())).order(ByteOrder.LITTLE_ENDIAN);
            float[] decoded = new float[b.remaining() / Float.BYTES];
            for (int k = 0; k < decoded.length; k++) decoded[k] = b.getFloat();
            assertThat(decoded).hasSize(bert.model().config().hiddenSize()).containsExactly(floats(plain.get("data").get(i).get("embedding")));
        }
    }

    @Test
    void tokenIdInputsRunAsGiven() {
        Http http = new Http(serve(config()).port(), null);
        int[] a = {2, 5, 6, 7, 3}, b = {2, 10, 11, 3};
        List<Output> outs = bert.encode(List.of(new Encoded(a, new int[a.length], new String[a.length]),
                new Encoded(b, new int[b.length], new String[b.length])), null);
        double[][] expected = HydraBert.pool(outs, HydraBert.Pool.CLS);
        JsonNode single = http.post("/v1/embeddings", embeddingsBody(a, Map.of())).json();
        assertThat(floats(single.get("data").get(0).get("embedding"))).containsExactly(narrow(expected[0]));
        assertThat(single.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
        JsonNode nested = http.post("/v1/embeddings", embeddingsBody(List.of(a, b), Map.of())).json();
        assertThat(floats(nested.get("data").get(1).get("embedding"))).containsExactly(narrow(expected[1]));
        assertThat(nested.get("usage").get("prompt_tokens").asInt()).isEqualTo(9);
    }

    @Test
    void aTextsEmbeddingDoesNotDependOnWhatElseIsInItsBatch() throws Exception {
        String probe = "the cat sat on the mat";
        float[] alone = narrow(bert.embed(List.of(probe), HydraBert.Pool.CLS)[0]);
        EmbeddingServer s = serve(config().withBatching(32, 200, 1024));
        Http http = new Http(s.port(), null);
        List<CompletableFuture<Http.Reply>> mix = new ArrayList<>();
        List<String> others = List.of("a", "the dog sat", "on the mat the dog", "cats sat on a mat the dog sat on the cat", "the cat sat on the dog");
        for (int round = 0; round < 4; round++) {
            mix.add(http.postAsync("/v1/embeddings", embeddingsBody(probe, Map.of())));
            for (String o : others) mix.add(http.postAsync("/v1/embeddings", embeddingsBody(List.of(o, probe), Map.of())));
        }
        for (CompletableFuture<Http.Reply> f : mix) {
            Http.Reply r = f.get(60, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            JsonNode data = r.json().get("data");
            assertThat(floats(data.get(data.size() - 1).get("embedding"))).containsExactly(alone);
        }
        String metrics = http.get("/metrics").body();
        assertThat(batchesAbove(metrics, 2)).as("some batch held more than one request's sequences:\n" + metrics).isPositive();
    }

    /** Batches with more than {@code n} sequences, from the Prometheus histogram. */
    static long batchesAbove(String metrics, int n) {
        long count = value(metrics, "hydra_batch_size_count"), atMost = value(metrics, "hydra_batch_size_bucket{le=\"" + (double) n + "\"}");
        return count - atMost;
    }

    static long value(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToLong(l -> (long) Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError("no series " + series + " in\n" + metrics));
    }

    @Test
    void modelsListsTheServedModel() {
        Http.Reply r = new Http(serve(config()).port(), null).get("/v1/models");
        assertThat(r.status()).isEqualTo(200);
        JsonNode data = r.json().get("data");
        assertThat(data).hasSize(1);
        assertThat(data.get(0).get("id").asText()).isEqualTo(NAME);
        assertThat(data.get(0).get("object").asText()).isEqualTo("model");
    }

    @Test
    void classifyAndFillMaskEqualTheLibrarys() {
        Http http = new Http(serve(config()).port(), null);
        JsonNode c = http.post("/v1/classify", Http.json(Map.of("input", TEXTS))).json();
        List<HydraBert.Classification> expected = bert.classify(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            JsonNode item = c.get("data").get(i);
            assertThat(item.get("label").asText()).isEqualTo(expected.get(i).name());
            assertThat(item.get("score").asDouble()).isEqualTo(expected.get(i).probabilities()[expected.get(i).label()]);
            assertThat(item.get("scores")).hasSize(3);
            assertThat(item.get("scores").get(2).get("label").asText()).isEqualTo("positive");
            assertThat(item.get("scores").get(2).get("score").asDouble()).isEqualTo(expected.get(i).probabilities()[2]);
        }
        JsonNode m = http.post("/v1/fill-mask", Http.json(Map.of("input", "the [MASK] sat on the [MASK]", "top_k", 3))).json();
        List<List<HydraBert.Prediction>> masks = bert.fillMask("the [MASK] sat on the [MASK]", 3);
        assertThat(m.get("data")).hasSize(2);
        for (int k = 0; k < 2; k++) {
            assertThat(m.get("data").get(k).get("position").asInt()).isEqualTo(masks.get(k).getFirst().position());
            JsonNode p = m.get("data").get(k).get("predictions");
            assertThat(p).hasSize(3);
            for (int j = 0; j < 3; j++) {
                assertThat(p.get(j).get("token_id").asInt()).isEqualTo(masks.get(k).get(j).tokenId());
                assertThat(p.get(j).get("token").asText()).isEqualTo(masks.get(k).get(j).token());
                assertThat(p.get(j).get("score").asDouble()).isEqualTo(masks.get(k).get(j).score());
            }
        }
    }

    @Test
    void badRequestsAre400NamingTheField() {
        Http http = new Http(serve(config()).port(), null);
        assertError(http.post("/v1/embeddings", "{\"input\": [\"a\""), 400, "invalid_json", null);
        assertError(http.post("/v1/embeddings", "{\"input\": \"a\"} trailing"), 400, "invalid_json", null);
        assertError(http.post("/v1/embeddings", "[1, 2]"), 400, "invalid_json", null);
        assertError(http.post("/v1/embeddings", "{}"), 400, "invalid_value", "input");
        assertError(http.post("/v1/embeddings", "{\"input\": 3}"), 400, "invalid_value", "input");
        assertError(http.post("/v1/embeddings", "{\"input\": []}"), 400, "invalid_value", "input");
        Http.Reply mixed = http.post("/v1/embeddings", "{\"input\": [\"a\", 7]}");
        assertError(mixed, 400, "invalid_value", "input[1]");
        assertThat(mixed.error("message")).isEqualTo("input[1] must be a string like input[0], got a number");
        assertError(http.post("/v1/embeddings", "{\"input\": [[2, 3], [2, 99, 3]]}"), 400, "invalid_value", "input[1][1]");
        assertError(http.post("/v1/embeddings", "{\"input\": [2, 1.5]}"), 400, "invalid_value", "input[1]");
        assertError(http.post("/v1/embeddings", "{\"input\": [[]]}"), 400, "invalid_value", "input[0]");
        assertError(http.post("/v1/embeddings", "{\"input\": \"a\", \"encoding_format\": \"hex\"}"), 400, "invalid_value", "encoding_format");
        assertError(http.post("/v1/embeddings", "{\"input\": \"a\", \"model\": \"gpt-4\"}"), 400, "model_not_found", "model");
        assertError(http.post("/v1/embeddings", "{\"input\": \"a\", \"dimensions\": 3}"), 400, "invalid_value", "dimensions");
        assertError(http.post("/v1/classify", "{\"input\": [[2, 3]]}"), 400, "invalid_value", "input[0]");
        assertError(http.post("/v1/fill-mask", "{\"input\": \"no mask here\"}"), 400, "invalid_value", "input");
        assertError(http.post("/v1/fill-mask", "{\"input\": \"a [MASK]\", \"top_k\": 0}"), 400, "invalid_value", "top_k");
        assertThat(http.get("/health").status()).as("the server is still up").isEqualTo(200);
    }

    static void assertError(Http.Reply r, int status, String code, String param) {
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.response().headers().firstValue("content-type")).hasValue("application/json");
        assertThat(r.error("code")).as(r.body()).isEqualTo(code);
        assertThat(r.error("param")).as(r.body()).isEqualTo(param);
        assertThat(r.error("type")).isNotBlank();
        assertThat(r.error("message")).isNotBlank().doesNotContain("\n").doesNotContain("Exception");
    }

    @Test
    void aWrongOrMissingKeyIs401AndTheRightOneIsServed() {
        EmbeddingServer s = serve(config().withLimits("s3cret", 0, 1 << 20));
        Http.Reply none = new Http(s.port(), null).post("/v1/embeddings", embeddingsBody("a", Map.of()));
        assertError(none, 401, "invalid_api_key", null);
        assertError(new Http(s.port(), "wrong").post("/v1/embeddings", embeddingsBody("a", Map.of())), 401, "invalid_api_key", null);
        assertError(new Http(s.port(), "wrong").get("/v1/models"), 401, "invalid_api_key", null);
        assertThat(new Http(s.port(), "s3cret").post("/v1/embeddings", embeddingsBody("a", Map.of())).status()).isEqualTo(200);
        assertThat(new Http(s.port(), null).get("/health").status()).as("health needs no key").isEqualTo(200);
    }

    @Test
    void unknownRoutesAre404AndWrongMethods405() {
        Http http = new Http(serve(config()).port(), null);
        assertError(http.get("/v1/completions"), 404, "unknown_route", null);
        assertError(http.post("/v2/embeddings", "{}"), 404, "unknown_route", null);
        assertError(http.get("/v1/embeddings"), 405, "method_not_allowed", null);
    }

    @Test
    void bodiesAndInputsOverTheLimitsAre413() {
        Http http = new Http(serve(config().withLimits(null, 6, 20_000)).port(), null);
        assertError(http.post("/v1/embeddings", embeddingsBody("x".repeat(30_000), Map.of())), 413, "request_too_large", null);
        // chunked, no Content-Length: the limit holds while reading
        HttpRequest chunked = http.builder("/v1/embeddings").POST(HttpRequest.BodyPublishers.ofInputStream(
                () -> new java.io.ByteArrayInputStream(embeddingsBody("y".repeat(50_000), Map.of()).getBytes()))).build();
        assertError(http.send(chunked), 413, "request_too_large", null);
        assertError(http.post("/v1/embeddings", embeddingsBody(List.of("a", "the cat sat on the mat"), Map.of())), 413, "request_too_large", "input[1]");
        assertError(http.post("/v1/embeddings", embeddingsBody(new int[] {2, 5, 5, 5, 5, 5, 3}, Map.of())), 413, "request_too_large", "input");
        List<String> many = java.util.Collections.nCopies(ServerConfig.MAX_INPUTS + 1, "a");
        assertError(http.post("/v1/embeddings", embeddingsBody(many, Map.of())), 413, "request_too_large", "input");
        assertThat(http.post("/v1/embeddings", embeddingsBody("the cat sat", Map.of())).status()).isEqualTo(200);
    }

    @Test
    void aFullQueueIs429WithRetryAfter() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        EmbeddingServer s = serve(config().withBatching(1, 0, 1), sequences -> {
            try {
                if (armed.get() && !release.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return bert.encode(sequences, null);
        });
        armed.set(true); // after the warm-up: from here on the engine holds each batch until released
        Http http = new Http(s.port(), null);
        CompletableFuture<Http.Reply> running = http.postAsync("/v1/embeddings", embeddingsBody("a", Map.of()));
        awaitPending(s, 1);
        CompletableFuture<Http.Reply> queued = http.postAsync("/v1/embeddings", embeddingsBody("the cat", Map.of()));
        awaitPending(s, 2);
        Http.Reply refused = http.post("/v1/embeddings", embeddingsBody("the dog", Map.of()));
        release.countDown();
        assertError(refused, 429, "queue_full", null);
        assertThat(refused.response().headers().firstValue("retry-after")).hasValue("1");
        assertThat(running.get(60, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(queued.get(60, TimeUnit.SECONDS).status()).isEqualTo(200);
    }

    static void awaitPending(EmbeddingServer s, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (s.pending() < n) {
            if (System.nanoTime() > deadline) throw new AssertionError("never " + n + " pending requests (" + s.pending() + ")");
            Thread.sleep(5);
        }
    }

    @Test
    void anEngineFailureIs500AndTheServerStaysUp() {
        EmbeddingServer s = serve(config(), sequences -> {
            if (sequences.stream().anyMatch(e -> e.ids()[0] == 49)) throw new IllegalStateException("simulated engine failure");
            return bert.encode(sequences, null);
        });
        Http http = new Http(s.port(), null);
        Http.Reply failed = http.post("/v1/embeddings", embeddingsBody(new int[] {49, 3}, Map.of()));
        assertError(failed, 500, "engine_failure", null);
        assertThat(failed.error("message")).isEqualTo("engine failure: simulated engine failure");
        assertThat(http.post("/v1/embeddings", embeddingsBody("the cat", Map.of())).status()).isEqualTo(200);
        assertThat(http.get("/health").status()).isEqualTo(200);
    }

    @Test
    void metricsAreInPrometheusTextFormat() {
        Http http = new Http(serve(config()).port(), null);
        http.post("/v1/embeddings", embeddingsBody(TEXTS, Map.of()));
        http.post("/v1/embeddings", "{}");
        http.get("/nowhere");
        Http.Reply r = http.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.response().headers().firstValue("content-type").orElseThrow()).startsWith("text/plain; version=0.0.4");
        String m = r.body();
        assertThat(value(m, "hydra_requests_total{route=\"/v1/embeddings\"}")).isEqualTo(2);
        assertThat(value(m, "hydra_errors_total{status=\"400\"}")).isEqualTo(1);
        assertThat(value(m, "hydra_errors_total{status=\"404\"}")).isEqualTo(1);
        assertThat(value(m, "hydra_responses_total{status=\"200\"}")).isEqualTo(1);
        assertThat(value(m, "hydra_queue_depth")).isZero();
        assertThat(value(m, "hydra_batch_size_count")).isEqualTo(1);
        assertThat(value(m, "hydra_batch_size_bucket{le=\"4.0\"}")).isZero();
        assertThat(value(m, "hydra_batch_size_bucket{le=\"8.0\"}")).isEqualTo(1);
        assertThat(value(m, "hydra_request_duration_seconds_count")).isEqualTo(3);
        assertThat(value(m, "hydra_tokens_total")).isEqualTo(bert.tokenize(TEXTS).stream().mapToInt(Encoded::length).sum());
        assertThat(m).contains("# TYPE hydra_request_duration_seconds histogram", "# TYPE hydra_tokens_per_second gauge");
    }

    @Test
    void closeAnswersQueuedRequestsThenStopsListening() throws Exception {
        EmbeddingServer s = serve(config().withBatching(64, 30_000, 1024)); // close() cuts the 30 s batch wait short
        int port = s.port();
        Http http = new Http(port, null);
        List<CompletableFuture<Http.Reply>> queued = new ArrayList<>();
        for (String t : TEXTS) queued.add(http.postAsync("/v1/embeddings", embeddingsBody(t, Map.of())));
        awaitPending(s, TEXTS.size());
        Thread closing = Thread.ofPlatform().start(s::close);
        double[][] expected = bert.embed(TEXTS, HydraBert.Pool.CLS);
        for (int i = 0; i < TEXTS.size(); i++) {
            Http.Reply r = queued.get(i).get(60, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(floats(r.json().get("data").get(0).get("embedding"))).containsExactly(narrow(expected[i]));
        }
        closing.join(30_000);
        assertThat(closing.isAlive()).isFalse();
        assertThatThrownBy(() -> new Http(port, null).get("/health")).hasCauseInstanceOf(ConnectException.class);
    }
}
