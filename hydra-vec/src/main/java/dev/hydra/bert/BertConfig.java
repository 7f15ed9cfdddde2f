package dev.hydra.bert;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.config.JsonKeys;

import static dev.hydra.config.JsonKeys.boolKey;
import static dev.hydra.config.JsonKeys.intKey;
import static dev.hydra.config.JsonKeys.numberKey;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The release's {@code BertConfig} (docs/spec.md §3) under its JSON key names. The encoder's own keys
 * are read here; every other key describes the mixer and is passed on as {@link #mixer()} (with
 * {@code d_model = hidden_size}) to {@link dev.hydra.layer.Layers#load}, which rejects what it does not know.
 * {@code source} names where the config came from, for error messages.
 */
public record BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int typeVocabSize,
                         int maxPositionEmbeddings, double layerNormEps, double mixerLayerNormEps,
                         boolean prenorm, boolean usePositionEmbeddings, boolean poolAll, ObjectNode mixer, String source) {

    public static final List<String> KEYS = List.of("vocab_size", "hidden_size", "num_hidden_layers", "type_vocab_size",
            "max_position_embeddings", "layer_norm_eps", "mixer_layer_norm_eps", "is_prenorm", "use_position_embeddings",
            "pool_all");

    /** Keys of Hugging Face / training configs that do not change the inference forward pass. */
    public static final Set<String> IGNORED = Set.of("architectures", "model_type", "id2label", "label2id", "num_labels",
            "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "initializer_range",
            "pad_token_id", "torch_dtype", "transformers_version", "problem_type", "lengths", "_name_or_path",
            "gradient_checkpointing", "position_embedding_type", "use_cache", "num_attention_heads", "intermediate_size");

    private static final ObjectMapper JSON = new ObjectMapper();

    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("type_vocab_size", typeVocabSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (!(layerNormEps > 0) || !(mixerLayerNormEps > 0) || Double.isInfinite(layerNormEps) || Double.isInfinite(mixerLayerNormEps))
            throw new HydraException("config: layer_norm_eps and mixer_layer_norm_eps must be positive numbers, got "
                    + layerNormEps + ", " + mixerLayerNormEps);
        if ((long) vocabSize * hiddenSize > Integer.MAX_VALUE - 8)
            throw new HydraException("config: word embeddings of " + vocabSize + " x " + hiddenSize + " are too large for one array");
    }

    private static void positive(String key, int v) {
        if (v < 1) throw new HydraException("config: " + key + " must be a positive integer, got " + v);
    }

    public static BertConfig read(Path file) {
        return fromJson(JsonKeys.readObject(file), file.toString());
    }

    public static BertConfig fromJson(ObjectNode obj, String source) {
        ObjectNode mixer = JSON.createObjectNode();
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k) && !IGNORED.contains(k)) mixer.set(k, obj.get(k));
        }
        try {
            int hidden = intKey(obj, "hidden_size", null, source);
            mixer.put("d_model", hidden);
            return new BertConfig(intKey(obj, "vocab_size", null, source), hidden,
                    intKey(obj, "num_hidden_layers", null, source), intKey(obj, "type_vocab_size", 2, source),
                    intKey(obj, "max_position_embeddings", 512, source), numberKey(obj, "layer_norm_eps", 1e-12, source),
                    numberKey(obj, "mixer_layer_norm_eps", 1e-5, source), boolKey(obj, "is_prenorm", false, source),
                    boolKey(obj, "use_position_embeddings", false, source), boolKey(obj, "pool_all", false, source), mixer, source);
        } catch (HydraException e) {
            throw JsonKeys.withSource(e, source);
        }
    }

    /** The config as JSON with the release's key names (mixer keys included, d_model left out). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.put("vocab_size", vocabSize).put("hidden_size", hiddenSize).put("num_hidden_layers", numHiddenLayers)
                .put("type_vocab_size", typeVocabSize).put("max_position_embeddings", maxPositionEmbeddings)
                .put("layer_norm_eps", layerNormEps).put("mixer_layer_norm_eps", mixerLayerNormEps)
                .put("is_prenorm", prenorm).put("use_position_embeddings", usePositionEmbeddings).put("pool_all", poolAll);
        mixer.fieldNames().forEachRemaining(k -> { if (!k.equals("d_model")) o.set(k, mixer.get(k)); });
        return o;
    }
}
