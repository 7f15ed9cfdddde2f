package dev.hydra.bert;

import com.fasterxml.jackson.databind.JsonNode;
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

    /**
     * Keys a {@code config.json} written by the release (transformers' {@code BertConfig.to_dict}, any version since
     * 4.0, and Composer's copy of it) carries that do not change the inference forward pass: naming, training,
     * dropout (inactive at inference), attention-only options the release does not read, generation settings.
     */
    public static final Set<String> IGNORED = Set.of(
            // naming and bookkeeping
            "architectures", "model_type", "transformers_version", "_name_or_path", "_commit_hash", "torch_dtype", "dtype",
            "finetuning_task", "tokenizer_class", "prefix", "task_specific_params", "lengths", "use_bfloat16", "torchscript",
            "_attn_implementation", "_attn_implementation_autoset", "_attn_implementation_internal", "tf_legacy_loss",
            // labels (the classifier's size comes from its tensors) and training-only settings
            "id2label", "label2id", "num_labels", "problem_type", "initializer_range", "gradient_checkpointing",
            "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
            // attention-model options the release's encoder does not read
            "num_attention_heads", "intermediate_size", "position_embedding_type", "use_cache", "pruned_heads",
            "chunk_size_feed_forward", "is_decoder", "is_encoder_decoder", "add_cross_attention", "cross_attention_hidden_size",
            "tie_encoder_decoder", "output_hidden_states", "output_attentions", "return_dict",
            // the release ties the MLM decoder to the word embeddings whatever this says
            "tie_word_embeddings",
            // set by the release's pretraining yaml (model_config, a misspelling that nothing reads)
            "max_position_embedding",
            // special token ids (padding_idx only affects training)
            "pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id",
            // generation settings
            "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
            "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
            "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores", "return_dict_in_generate",
            "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
            "suppress_tokens", "begin_suppress_tokens");

    /** The activation of the MLM head's transform ({@code hidden_act}); the only value the head implements. */
    public static final String HIDDEN_ACT = "gelu";

    /** The release's default {@code chunk_size} (its BertConfig's, Hydra's and MatrixMixer's). */
    private static final int RELEASE_CHUNK_SIZE = 256;

    /** {@code matrix_mixer_type} of the release's configs that selects the Hydra layer. */
    public static final String HYDRA_MIXER = "hydra";

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

    /**
     * Reads the project's format (encoder keys plus the mixer's own keys) and the release's {@code config.json}
     * alike. As the release builds each layer's mixer (docs/spec.md §3): {@code matrix_mixer_type "hydra"} is the
     * Hydra layer ({@code is_data_dependent} and {@code qk_dim} unused), any other type a matrix mixer with
     * {@code max_seq_len = max_position_embeddings} ({@code d_state} unused), and every mixer gets
     * {@code chunk_size = min(chunk_size, max_position_embeddings)}.
     */
    public static BertConfig fromJson(ObjectNode obj, String source) {
        ObjectNode mixer = JSON.createObjectNode();
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k) && !IGNORED.contains(k) && !k.equals("hidden_act")) mixer.set(k, obj.get(k));
        }
        try {
            JsonNode act = obj.get("hidden_act");
            if (act != null && !act.isNull() && !(act.isTextual() && act.asText().equals(HIDDEN_ACT)))
                throw new HydraException(source + ": config key 'hidden_act' is " + act + "; the MLM head implements \"" + HIDDEN_ACT + "\" (exact erf) only");
            int hidden = intKey(obj, "hidden_size", null, source);
            int maxPositions = intKey(obj, "max_position_embeddings", 512, source);
            mixer.put("d_model", hidden);
            asTheReleaseBuildsIt(mixer, maxPositions);
            return new BertConfig(intKey(obj, "vocab_size", null, source), hidden,
                    intKey(obj, "num_hidden_layers", null, source), intKey(obj, "type_vocab_size", 2, source),
                    maxPositions, numberKey(obj, "layer_norm_eps", 1e-12, source),
                    numberKey(obj, "mixer_layer_norm_eps", 1e-5, source), boolKey(obj, "is_prenorm", false, source),
                    boolKey(obj, "use_position_embeddings", false, source), boolKey(obj, "pool_all", false, source), mixer, source);
        } catch (HydraException e) {
            throw JsonKeys.withSource(e, source);
        }
    }

    /** The release's {@code BertUnpadMixer} constructor arguments, from its config keys (a no-op on the project's format but for the chunk). */
    private static void asTheReleaseBuildsIt(ObjectNode mixer, int maxPositions) {
        JsonNode type = mixer.get("matrix_mixer_type");
        if (type != null && type.isTextual() && type.asText().equals(HYDRA_MIXER)) {
            mixer.remove(List.of("matrix_mixer_type", "is_data_dependent", "qk_dim"));
        } else if (type != null) {
            mixer.remove("d_state");
            if (!mixer.has("max_seq_len")) mixer.put("max_seq_len", maxPositions);
        }
        JsonNode chunk = mixer.get("chunk_size");
        if (chunk == null || chunk.isNull()) {
            if (maxPositions < RELEASE_CHUNK_SIZE) mixer.put("chunk_size", maxPositions);
        } else if (chunk.isIntegralNumber() && chunk.canConvertToInt() && chunk.intValue() > maxPositions) {
            mixer.put("chunk_size", maxPositions);
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
