package dev.hydra.bert;

import dev.hydra.config.HydraConfig;
import dev.hydra.config.MixerConfig;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.MixerWeights;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded parameters for a Hydra BERT with the release's state-dict names: mixers from
 * {@link HydraWeights#seeded} (or {@link MixerWeights#seeded} when the config names a matrix mixer), everything else uniform around the usual scales (norm weights near 1), so
 * that every weight matters. For tests and benchmarks.
 */
public final class SeededBert {
    private SeededBert() {}

    /**
     * @param mlmHead   add {@code cls.predictions.*}
     * @param numLabels add {@code classifier.*} with this many labels (0: none)
     * @param prefix    prefix of the encoder's names ("" or "bert."); heads sit at the root
     */
    public static InMemoryTensors weights(BertConfig c, long seed, boolean mlmHead, int numLabels, String prefix) {
        SplittableRandom r = new SplittableRandom(seed);
        InMemoryTensors t = new InMemoryTensors("seeded Hydra BERT (seed " + seed + ")");
        int d = c.hiddenSize();
        String e = prefix + "embeddings.";
        t.put(e + "word_embeddings.weight", uniform(r, c.vocabSize() * d, 1, 0), c.vocabSize(), d);
        t.put(e + "token_type_embeddings.weight", uniform(r, c.typeVocabSize() * d, 1, 0), c.typeVocabSize(), d);
        if (c.usePositionEmbeddings())
            t.put(e + "position_embeddings.weight", uniform(r, c.maxPositionEmbeddings() * d, 1, 0), c.maxPositionEmbeddings(), d);
        norm(t, r, e + "LayerNorm.", d);
        boolean matrixMixer = MixerConfig.describes(c.mixer());
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = prefix + "encoder.layer." + i + ".layer.";
            InMemoryTensors m = matrixMixer
                    ? MixerWeights.seeded(MixerConfig.fromJson(c.mixer(), c.source(), java.util.Set.of()), r.nextLong())
                    : HydraWeights.seeded(HydraConfig.fromJson(c.mixer(), c.source(), java.util.Set.of()), r.nextLong());
            for (String name : m.names()) t.put(l + "mixer." + name, m.floats(name), m.info(name).shape());
            norm(t, r, l + "norm.", d);
        }
        if (c.prenorm()) norm(t, r, prefix + "encoder.norm_f.", d);
        dense(t, r, prefix + "pooler.dense.", d, d);
        if (mlmHead) {
            dense(t, r, "cls.predictions.transform.dense.", d, d);
            norm(t, r, "cls.predictions.transform.LayerNorm.", d);
            t.put("cls.predictions.decoder.bias", uniform(r, c.vocabSize(), 0.1, 0), c.vocabSize());
        }
        if (numLabels > 0) dense(t, r, "classifier.", numLabels, d);
        return t;
    }

    private static void norm(InMemoryTensors t, SplittableRandom r, String prefix, int d) {
        t.put(prefix + "weight", uniform(r, d, 0.2, 1), d).put(prefix + "bias", uniform(r, d, 0.1, 0), d);
    }

    private static void dense(InMemoryTensors t, SplittableRandom r, String prefix, int out, int in) {
        t.put(prefix + "weight", uniform(r, out * in, 1 / Math.sqrt(in), 0), out, in).put(prefix + "bias", uniform(r, out, 0.1, 0), out);
    }

    private static float[] uniform(SplittableRandom r, int n, double bound, double centre) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (centre + bound * (2 * r.nextDouble() - 1));
        return a;
    }

    /**
     * A BERT-style WordPiece tokenizer.json for a vocabulary holding [PAD], [UNK], [CLS] and [SEP] (entries in
     * brackets are special tokens): lower-casing normalizer, the [CLS] A [SEP] B [SEP] template.
     */
    public static String wordPieceTokenizerJson(List<String> vocabulary) {
        StringBuilder vocab = new StringBuilder(), added = new StringBuilder();
        for (int i = 0; i < vocabulary.size(); i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(vocabulary.get(i)).append("\":").append(i);
            if (vocabulary.get(i).startsWith("["))
                added.append(added.isEmpty() ? "" : ",").append("{\"id\":").append(i).append(",\"content\":\"").append(vocabulary.get(i))
                        .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}");
        }
        return """
                {"version":"1.0","truncation":null,"padding":null,"added_tokens":[%s],
                 "normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
                 "pre_tokenizer":{"type":"BertPreTokenizer"},
                 "post_processor":{"type":"TemplateProcessing",
                   "single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],
                   "pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},
                           {"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],
                   "special_tokens":{"[CLS]":{"id":"[CLS]","ids":[%d],"tokens":["[CLS]"]},"[SEP]":{"id":"[SEP]","ids":[%d],"tokens":["[SEP]"]}}},
                 "decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
                 "model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{%s}}}
                """.formatted(added, vocabulary.indexOf("[CLS]"), vocabulary.indexOf("[SEP]"), vocab);
    }
}
