package dev.hydra.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.ModelFiles;
import dev.hydra.bert.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code hydra tokenize}: a text (or text pair) as the model's tokenizer encodes it. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print a text (or a text pair) as token ids, token type ids and tokens, as JSON. The tokenizer is the "
                + "directory's tokenizer.json, else its vocab.txt (WordPiece, as transformers' BertTokenizer); it truncates to "
                + "max_position_embeddings of config.json (512 without one).")
final class TokenizeCommand implements Callable<Integer> {
    private static final int BERT_MAX_LENGTH = 512;

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A model or tokenizer directory.")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text.")
    String text;

    @Option(names = "--text-pair", paramLabel = "TEXT", description = "A second text: [CLS] text [SEP] pair [SEP], type ids 0 then 1.")
    String pair;

    @Override
    public Integer call() {
        ModelFiles files = ModelFiles.tokenizerOnly(Files.isDirectory(model) ? model : model.toAbsolutePath().getParent());
        int maxLength = files.config() == null ? BERT_MAX_LENGTH : BertConfig.read(files.config()).maxPositionEmbeddings();
        ObjectNode out = new ObjectMapper().createObjectNode();
        try (TextTokenizer t = files.tokenizer(maxLength, model)) {
            TextTokenizer.Encoded e = pair == null ? t.encode(text) : t.encode(text, pair);
            var ids = out.putArray("input_ids");
            for (int id : e.ids()) ids.add(id);
            var types = out.putArray("token_type_ids");
            for (int ty : e.typeIds()) types.add(ty);
            var tokens = out.putArray("tokens");
            for (String tok : e.tokens()) tokens.add(tok);
        }
        spec.commandLine().getOut().println(out);
        return 0;
    }
}
