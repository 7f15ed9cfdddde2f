package dev.hydra.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hydra.HydraException;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.TextTokenizer.Encoded;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code input} field of a request as token sequences: a string, an array of strings, an array of
 * token ids (one sequence, taken as it is: the special tokens are the client's) or an array of such arrays.
 * Every error names the offending element.
 */
final class Inputs {
    private Inputs() {}

    /**
     * @param idsAllowed whether token id arrays are accepted (embeddings) or texts only (classify)
     * @param maxTokens  tokens per sequence at most (413 above)
     */
    static List<Encoded> parse(JsonNode body, HydraBert bert, boolean idsAllowed, int maxTokens) {
        JsonNode input = body.get("input");
        String shapes = idsAllowed ? "a string, an array of strings, an array of token ids or an array of token id arrays"
                : "a string or an array of strings";
        if (input == null || input.isNull()) throw ApiError.badField("input", "input is required: " + shapes);
        List<Encoded> out = new ArrayList<>();
        if (input.isTextual()) {
            out.add(text(bert, input.textValue(), "input", maxTokens));
            return out;
        }
        if (!input.isArray()) throw ApiError.badField("input", "input must be " + shapes + ", got " + kind(input));
        if (input.isEmpty()) throw ApiError.badField("input", "input must not be an empty array");
        if (input.size() > ServerConfig.MAX_INPUTS)
            throw ApiError.tooLarge("input", "input has " + input.size() + " items, more than " + ServerConfig.MAX_INPUTS);
        JsonNode first = input.get(0);
        if (idsAllowed && first.isNumber()) {
            out.add(ids(bert, input, "input", maxTokens));
            return out;
        }
        for (int i = 0; i < input.size(); i++) {
            JsonNode item = input.get(i);
            String where = "input[" + i + "]";
            if (item.isTextual() && first.isTextual()) out.add(text(bert, item.textValue(), where, maxTokens));
            else if (idsAllowed && item.isArray() && first.isArray()) out.add(ids(bert, item, where, maxTokens));
            else throw ApiError.badField(where, where + " must be " + (first.isTextual() || !idsAllowed ? "a string" : "an array of token ids")
                    + " like input[0], got " + kind(item));
        }
        return out;
    }

    private static Encoded text(HydraBert bert, String text, String where, int maxTokens) {
        Encoded e;
        try {
            e = bert.tokenizer().encode(text);
        } catch (HydraException failure) {
            throw ApiError.badField(where, where + ": " + failure.getMessage());
        }
        if (e.length() > maxTokens)
            throw ApiError.tooLarge(where, where + " has " + e.length() + " tokens, more than the limit of " + maxTokens);
        return e;
    }

    private static Encoded ids(HydraBert bert, JsonNode array, String where, int maxTokens) {
        int n = array.size(), vocab = bert.model().config().vocabSize();
        if (n == 0) throw ApiError.badField(where, where + " must not be an empty array of token ids");
        if (n > maxTokens) throw ApiError.tooLarge(where, where + " has " + n + " tokens, more than the limit of " + maxTokens);
        int[] ids = new int[n];
        for (int t = 0; t < n; t++) {
            JsonNode id = array.get(t);
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0 || id.intValue() >= vocab)
                throw ApiError.badField(where + "[" + t + "]", where + "[" + t + "] must be a token id in [0, " + vocab + "), got " + id);
            ids[t] = id.intValue();
        }
        return new Encoded(ids, new int[n], null);   // no token strings: fill-mask does not take ids
    }

    /** What a JSON value is, for error messages. */
    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase();
        };
    }
}
