package dev.hydra.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;

/** Typed reads of config keys, with one-line errors that name the config source and the key. */
public final class JsonKeys {
    private JsonKeys() {}

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
