package dev.hydra.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.config.JsonKeys;

import java.util.Iterator;
import java.util.List;
import java.util.Set;

import static dev.hydra.config.JsonKeys.intKey;

/**
 * The options of the release's {@code MatrixMixer} constructor (docs/spec.md §2), under its JSON key
 * names, validated on construction. {@code maxSeqLen} is 0 when absent, which only the data-dependent
 * attention and quasiseparable mixers allow (every other type scales by it or sizes parameters by it).
 */
public record MixerConfig(MixerType type, boolean dataDependent, int dModel, int qkDim, int maxSeqLen,
                          int dConv, int expand, int headdim, int chunkSize) {

    public static final List<String> KEYS = List.of("matrix_mixer_type", "is_data_dependent", "d_model", "qk_dim",
            "max_seq_len", "d_conv", "expand", "headdim", "chunk_size");

    private static final ObjectMapper JSON = new ObjectMapper();

    public MixerConfig {
        positive("d_model", dModel);
        positive("qk_dim", qkDim);
        positive("d_conv", dConv);
        positive("expand", expand);
        positive("headdim", headdim);
        positive("chunk_size", chunkSize);
        if (maxSeqLen < 0) throw new HydraException("config: max_seq_len must be a positive integer, got " + maxSeqLen);
        if (dConv % 2 == 0) throw new HydraException("config: d_conv must be odd (the conv is centred), got " + dConv);
        if (type == MixerType.DENSE && dataDependent)
            throw new HydraException("config: matrix_mixer_type 'dense' has no data-dependent variant (set is_data_dependent to false)");
        boolean needsLength = !dataDependent || (type != MixerType.ATTENTION && type != MixerType.QUASISEPARABLE);
        if (needsLength && maxSeqLen == 0)
            throw new HydraException("config: the " + variant(type, dataDependent) + " mixer needs max_seq_len");
        long dInner = (long) expand * dModel;
        if (dInner % headdim != 0)
            throw new HydraException("config: d_inner = expand * d_model = " + dInner + " is not divisible by headdim " + headdim);
        long heads = dInner / headdim, ds = heads * qkDim;
        long proj = 2 * dInner + 2 * ds + 2 * heads, l = Math.max(maxSeqLen, 1);
        if (proj * dModel > Integer.MAX_VALUE - 8 || (!dataDependent && heads * l * l > Integer.MAX_VALUE - 8))
            throw new HydraException("config: parameters of this " + variant(type, dataDependent) + " mixer are too large for one array");
    }

    private static void positive(String key, int v) {
        if (v < 1) throw new HydraException("config: " + key + " must be a positive integer, got " + v);
    }

    private static String variant(MixerType t, boolean dd) {
        return t.key() + (dd ? " data-dependent" : " data-independent");
    }

    public String variant() {
        return variant(type, dataDependent);
    }

    public int dInner() {
        return expand * dModel;
    }

    public int nheads() {
        return dInner() / headdim;
    }

    /** ds = H * qk_dim: the width of q and k, and the state size of the quasiseparable mixer. */
    public int dState() {
        return nheads() * qkDim;
    }

    /** Width of the data-dependent channels after x: f, r (toeplitz), q, k or B, C. */
    int extraConvChannels() {
        if (!dataDependent) return 0;
        return type == MixerType.TOEPLITZ ? 2 * nheads() : 2 * dState();
    }

    /** Channels of the depthwise conv: x, then the data-dependent channels. */
    public int convDim() {
        return dInner() + extraConvChannels();
    }

    /** Output width of in_proj: z, the conv channels, and the quasiseparable's 2H dt columns. */
    public int projDim() {
        return dInner() + convDim() + (dataDependent && type == MixerType.QUASISEPARABLE ? 2 * nheads() : 0);
    }

    /** Conv output channels that go through silu: all of them, or only v (docs/spec.md §2.3, column "activation"). */
    public int siluChannels() {
        return type.siluOnAll(dataDependent) ? convDim() : dInner();
    }

    /** The scale s of docs/spec.md §2.3 (1 for attention and quasiseparable, which have none). */
    public double scale() {
        return switch (type) {
            case DENSE -> 1 / Math.sqrt(maxSeqLen);
            case TOEPLITZ -> 0.5 / Math.sqrt(maxSeqLen);
            case VANDERMONDE -> dataDependent ? 1 / Math.sqrt(2.0 * maxSeqLen * qkDim) : 1 / Math.sqrt(maxSeqLen);
            case CAUCHY, LOW_RANK -> 1 / Math.sqrt((double) maxSeqLen * qkDim);
            case ATTENTION, QUASISEPARABLE -> 1;
        };
    }

    /** Data-independent mixers hold parameters sized by max_seq_len and run at that length only. */
    public void checkLength(int len) {
        if (!dataDependent && len != maxSeqLen)
            throw new HydraException("input: the " + variant() + " mixer runs at length max_seq_len = " + maxSeqLen
                    + " only, got length " + len + " (data-dependent variants accept any length)");
    }

    /** True when a JSON config describes a matrix mixer rather than a Hydra layer. */
    public static boolean describes(ObjectNode obj) {
        return obj.has("matrix_mixer_type");
    }

    /** Parses a config object; keys other than {@link #KEYS} are an error unless listed in {@code ignored}. */
    public static MixerConfig fromJson(ObjectNode obj, String source, Set<String> ignored) {
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k) && !ignored.contains(k))
                throw new HydraException(source + ": unknown config key '" + k + "' (known: " + String.join(", ", KEYS) + ")");
        }
        JsonNode t = obj.get("matrix_mixer_type");
        if (t == null || !t.isTextual())
            throw new HydraException(source + ": config key 'matrix_mixer_type' must be a string, got " + t);
        JsonNode dd = obj.get("is_data_dependent");
        if (dd == null || !dd.isBoolean())
            throw new HydraException(source + ": config key 'is_data_dependent' must be true or false, got " + dd);
        try {
            return new MixerConfig(MixerType.of(t.asText(), source), dd.booleanValue(),
                    intKey(obj, "d_model", null, source), intKey(obj, "qk_dim", null, source),
                    intKey(obj, "max_seq_len", 0, source), intKey(obj, "d_conv", 7, source),
                    intKey(obj, "expand", 2, source), intKey(obj, "headdim", 128, source),
                    intKey(obj, "chunk_size", 256, source));
        } catch (HydraException e) {
            throw JsonKeys.withSource(e, source);
        }
    }

    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("matrix_mixer_type", type.key()).put("is_data_dependent", dataDependent).put("d_model", dModel)
                .put("qk_dim", qkDim);
        if (maxSeqLen > 0) o.put("max_seq_len", maxSeqLen);
        o.put("d_conv", dConv).put("expand", expand).put("headdim", headdim).put("chunk_size", chunkSize);
        return o;
    }
}
