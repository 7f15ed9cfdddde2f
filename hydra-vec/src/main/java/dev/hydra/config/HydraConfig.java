package dev.hydra.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;

import static dev.hydra.config.JsonKeys.boolKey;
import static dev.hydra.config.JsonKeys.intKey;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The options of the release's {@code Hydra} constructor (docs/spec.md §1), under the same JSON key
 * names, validated on construction: an impossible combination is a {@link HydraException} naming it.
 */
public record HydraConfig(int dModel, int dState, int dConv, int expand, int headdim, int ngroups,
                          double dtMin, double dtMax, boolean learnableInitStates, boolean bias,
                          boolean convBias, int chunkSize) {

    public static final List<String> KEYS = List.of("d_model", "d_state", "d_conv", "expand", "headdim", "ngroups",
            "dt_limit", "learnable_init_states", "bias", "conv_bias", "chunk_size");

    private static final ObjectMapper JSON = new ObjectMapper();

    public HydraConfig {
        positive("d_model", dModel);
        positive("d_state", dState);
        positive("d_conv", dConv);
        positive("expand", expand);
        positive("headdim", headdim);
        positive("ngroups", ngroups);
        positive("chunk_size", chunkSize);
        if (dConv % 2 == 0) throw new HydraException("config: d_conv must be odd (the conv is centred), got " + dConv);
        long dInner = (long) expand * dModel;
        if (dInner % headdim != 0)
            throw new HydraException("config: d_inner = expand * d_model = " + dInner + " is not divisible by headdim " + headdim);
        long heads = dInner / headdim;
        if (heads % ngroups != 0)
            throw new HydraException("config: nheads = " + heads + " is not divisible by ngroups " + ngroups);
        if (Double.isNaN(dtMin) || Double.isNaN(dtMax) || dtMin < 0 || dtMin > dtMax || Double.isInfinite(dtMin))
            throw new HydraException("config: dt_limit must be [min, max] with 0 <= min <= max and min finite, got [" + dtMin + ", " + dtMax + "]");
        long proj = 2 * dInner + 4L * ngroups * dState + 2 * heads;
        if (proj * dModel > Integer.MAX_VALUE - 8 || (dInner + 4L * ngroups * dState) * dConv > Integer.MAX_VALUE - 8)
            throw new HydraException("config: in_proj of " + proj + " x " + dModel + " is too large for one array");
    }

    private static void positive(String key, int v) {
        if (v < 1) throw new HydraException("config: " + key + " must be a positive integer, got " + v);
    }

    /** The release's defaults for everything but d_model. */
    public static HydraConfig defaults(int dModel) {
        return new HydraConfig(dModel, 64, 7, 2, 64, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);
    }

    public int dInner() {
        return expand * dModel;
    }

    public int nheads() {
        return dInner() / headdim;
    }

    /** Channels of the depthwise conv: x, B_f, C_f, B_b, C_b. */
    public int convDim() {
        return dInner() + 4 * ngroups * dState;
    }

    /** Output width of in_proj: z, xBC, dt (two directions). */
    public int projDim() {
        return 2 * dInner() + 4 * ngroups * dState + 2 * nheads();
    }

    public boolean hasDtLimit() {
        return dtMin > 0 || dtMax != Double.POSITIVE_INFINITY;
    }

    public HydraConfig withChunkSize(int chunk) {
        return new HydraConfig(dModel, dState, dConv, expand, headdim, ngroups, dtMin, dtMax, learnableInitStates, bias, convBias, chunk);
    }

    /** Parses a config file; keys other than {@link #KEYS} are an error unless listed in {@code ignored}. */
    public static HydraConfig read(Path file, Set<String> ignored) {
        return fromJson(JsonKeys.readObject(file), file.toString(), ignored);
    }

    public static HydraConfig parse(String json, String source, Set<String> ignored) {
        return fromJson(JsonKeys.parseObject(json, source), source, ignored);
    }

    public static HydraConfig fromJson(ObjectNode obj, String source, Set<String> ignored) {
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k) && !ignored.contains(k))
                throw new HydraException(source + ": unknown config key '" + k + "' (known: " + String.join(", ", KEYS) + ")");
        }
        try {
            HydraConfig d = defaults(64);
            double[] limit = dtLimit(obj.get("dt_limit"), source);
            return new HydraConfig(
                    intKey(obj, "d_model", null, source),
                    intKey(obj, "d_state", d.dState, source),
                    intKey(obj, "d_conv", d.dConv, source),
                    intKey(obj, "expand", d.expand, source),
                    intKey(obj, "headdim", d.headdim, source),
                    intKey(obj, "ngroups", d.ngroups, source),
                    limit[0], limit[1],
                    boolKey(obj, "learnable_init_states", d.learnableInitStates, source),
                    boolKey(obj, "bias", d.bias, source),
                    boolKey(obj, "conv_bias", d.convBias, source),
                    intKey(obj, "chunk_size", d.chunkSize, source));
        } catch (HydraException e) {
            throw JsonKeys.withSource(e, source);
        }
    }

    private static double[] dtLimit(JsonNode v, String source) {
        if (v == null || v.isNull()) return new double[] {0.0, Double.POSITIVE_INFINITY};
        if (!v.isArray() || v.size() != 2)
            throw new HydraException(source + ": config key 'dt_limit' must be [min, max], got " + v);
        return new double[] {limitValue(v.get(0), source), limitValue(v.get(1), source)};
    }

    private static double limitValue(JsonNode v, String source) {
        if (v.isNumber()) return v.doubleValue();
        if (v.isTextual()) {
            switch (v.asText().toLowerCase()) {
                case "inf", "infinity", "+inf" -> { return Double.POSITIVE_INFINITY; }
                default -> { }
            }
        }
        throw new HydraException(source + ": config key 'dt_limit' holds " + v + ", not a number or \"inf\"");
    }

    /** JSON with the release's key names; an infinite dt_limit bound is written as "inf". */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("d_model", dModel).put("d_state", dState).put("d_conv", dConv).put("expand", expand)
                .put("headdim", headdim).put("ngroups", ngroups);
        var lim = o.putArray("dt_limit");
        lim.add(dtMin);
        if (dtMax == Double.POSITIVE_INFINITY) lim.add("inf"); else lim.add(dtMax);
        o.put("learnable_init_states", learnableInitStates).put("bias", bias).put("conv_bias", convBias)
                .put("chunk_size", chunkSize);
        return o;
    }

    public String toJsonString() {
        return toJson().toPrettyString();
    }
}
