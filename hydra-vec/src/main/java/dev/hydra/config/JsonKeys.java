package dev.hydra.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Config JSON: strict parsing (duplicate keys and anything after the object are refused) and typed reads
 * of keys, with one-line errors that name the config source and the key.
 */
public final class JsonKeys {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonKeys() {}

    /** The JSON object in {@code file}. */
    public static ObjectNode readObject(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new HydraException(file + ": no such file");
        } catch (IOException e) {
            throw new HydraException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return parseObject(text, file.toString());
    }

    /** The JSON object in {@code json}; {@code source} names it in errors. */
    public static ObjectNode parseObject(String json, String source) {
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new HydraException(source + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (node instanceof ObjectNode obj) return obj;
        throw new HydraException(source + ": config is not a JSON object");
    }

    /** An int key; {@code dflt == null} makes it required. */
    public static int intKey(ObjectNode o, String key, Integer dflt, String source) {
        JsonNode v = o.get(key);
        if (v == null || v.isNull()) {
            if (dflt == null) throw new HydraException(source + ": missing required config key '" + key + "'");
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt())
            throw new HydraException(source + ": config key '" + key + "' must be an integer, got " + v);
        return v.intValue();
    }

    public static double numberKey(ObjectNode o, String key, double dflt, String source) {
        JsonNode v = o.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new HydraException(source + ": config key '" + key + "' must be a number, got " + v);
        return v.doubleValue();
    }

    public static boolean boolKey(ObjectNode o, String key, boolean dflt, String source) {
        JsonNode v = o.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new HydraException(source + ": config key '" + key + "' must be true or false, got " + v);
        return v.booleanValue();
    }

    /** A validation error raised as "config: ..." by a record constructor, re-labelled with the config's source. */
    public static HydraException withSource(HydraException e, String source) {
        return e.getMessage().startsWith("config: ")
                ? new HydraException(source + ": " + e.getMessage().substring("config: ".length()))
                : e;
    }
}
