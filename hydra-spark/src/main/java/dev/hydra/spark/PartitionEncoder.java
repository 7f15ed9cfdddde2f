package dev.hydra.spark;

import dev.hydra.HydraException;
import dev.hydra.bert.BertConfig;
import dev.hydra.bert.HydraBert;
import dev.hydra.bert.Output;
import dev.hydra.bert.TextTokenizer.Encoded;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

import java.io.Serial;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import static dev.hydra.layer.Layers.narrow;

/**
 * Runs the model over one partition: rows are taken in windows of {@code 8 x batchSize}, the valid ones
 * encoded in batches bucketed by length ({@link HydraBert#encode}), and every row comes back, in order,
 * with the result appended as the last column. Null or blank inputs give null; malformed ones (token ids
 * out of the vocabulary, too many ids, no mask token for fill-mask) give null and are counted.
 */
final class PartitionEncoder implements MapPartitionsFunction<Row, Row> {
    @Serial private static final long serialVersionUID = 1L;

    /** Malformed rows reported by reason per task, at most. */
    private static final int REASONS_PER_TASK = 3;

    record Settings(ModelCache.Key model, Task task, HydraBert.Pool pool, int topK, boolean tokenIds, int inputIndex)
            implements java.io.Serializable {}

    private final Settings settings;
    private final SerializableConfiguration hadoopConf;
    private final LongAccumulator rows;
    private final LongAccumulator malformed;
    private final CollectionAccumulator<String> reasons;

    PartitionEncoder(Settings settings, SerializableConfiguration hadoopConf, LongAccumulator rows, LongAccumulator malformed,
                     CollectionAccumulator<String> reasons) {
        this.settings = settings;
        this.hadoopConf = hadoopConf;
        this.rows = rows;
        this.malformed = malformed;
        this.reasons = reasons;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        return new Iterator<>() {
            private Iterator<Row> encoded = Collections.emptyIterator();
            private int reported;

            @Override
            public boolean hasNext() {
                if (!encoded.hasNext() && input.hasNext()) encoded = encodeWindow(input, this::report);
                return encoded.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return encoded.next();
            }

            private void report(String reason) {
                malformed.add(1);
                if (reported++ < REASONS_PER_TASK) reasons.add(reason);
            }
        };
    }

    private Iterator<Row> encodeWindow(Iterator<Row> input, java.util.function.Consumer<String> malformedRow) {
        List<Row> window = new ArrayList<>();
        while (input.hasNext() && window.size() < 8 * settings.model().batchSize()) window.add(input.next());
        TaskContext task = TaskContext.get();
        HydraBert bert = ModelCache.get(settings.model().withCpuThreads(task == null ? 1 : task.cpus()), hadoopConf.value());
        Object[] results = new Object[window.size()];
        if (settings.task() == Task.FILL_MASK) {
            for (int i = 0; i < window.size(); i++) {
                String text = text(window.get(i));
                if (text == null) continue;
                try {
                    results[i] = predictions(bert.fillMask(text, settings.topK()));
                } catch (HydraException e) {
                    malformedRow.accept(e.getMessage());
                }
            }
        } else {
            List<Encoded> items = new ArrayList<>();
            List<Integer> itemRows = new ArrayList<>();
            for (int i = 0; i < window.size(); i++) {
                try {
                    Encoded e = settings.tokenIds() ? ids(window.get(i), bert.model().config()) : tokens(window.get(i), bert);
                    if (e == null) continue;
                    items.add(e);
                    itemRows.add(i);
                } catch (HydraException e) {
                    malformedRow.accept(e.getMessage());
                }
            }
            if (!items.isEmpty()) {
                try {
                    fill(results, itemRows, bert, bert.encode(items, null));
                } catch (HydraException batchFailed) {
                    // a row the checks above let through was refused: run the window's rows one by one to find it
                    for (int k = 0; k < items.size(); k++) {
                        try {
                            fill(results, itemRows.subList(k, k + 1), bert, bert.encode(items.subList(k, k + 1), null));
                        } catch (HydraException e) {
                            malformedRow.accept(e.getMessage());
                        }
                    }
                }
            }
        }
        rows.add(window.size());
        List<Row> out = new ArrayList<>(window.size());
        for (int i = 0; i < window.size(); i++) out.add(append(window.get(i), results[i]));
        return out.iterator();
    }

    /** The task's result for each output, at its row. */
    private void fill(Object[] results, List<Integer> rowsOfOutputs, HydraBert bert, List<Output> outputs) {
        if (settings.task() == Task.EMBED) {
            double[][] pooled = HydraBert.pool(outputs, settings.pool());
            for (int k = 0; k < pooled.length; k++) results[rowsOfOutputs.get(k)] = narrow(pooled[k]);
            return;
        }
        List<HydraBert.Classification> labels = bert.classifyOutputs(outputs);
        for (int k = 0; k < labels.size(); k++) {
            HydraBert.Classification c = labels.get(k);
            results[rowsOfOutputs.get(k)] = RowFactory.create(c.name(), c.label(), c.probabilities()[c.label()], narrow(c.logits()));
        }
    }

    private String text(Row row) {
        if (row.isNullAt(settings.inputIndex())) return null;
        String text = row.getString(settings.inputIndex());
        return text.isBlank() ? null : text;
    }

    private Encoded tokens(Row row, HydraBert bert) {
        String text = text(row);
        return text == null ? null : bert.tokenizer().encode(text);
    }

    private Encoded ids(Row row, BertConfig config) {
        if (row.isNullAt(settings.inputIndex())) return null;
        List<Object> values = row.getList(settings.inputIndex());
        if (values.isEmpty()) return null;
        if (values.size() > config.maxPositionEmbeddings())
            throw new HydraException("a row has " + values.size() + " token ids, more than the model's " + config.maxPositionEmbeddings() + " positions");
        int[] ids = new int[values.size()];
        for (int t = 0; t < ids.length; t++) {
            Object v = values.get(t);
            long id = v == null ? -1 : ((Number) v).longValue();
            if (id < 0 || id >= config.vocabSize())
                throw new HydraException("a row's token id " + t + " is " + v + ", outside the vocabulary [0, " + config.vocabSize() + ")");
            ids[t] = (int) id;
        }
        return new Encoded(ids, new int[ids.length], null);
    }

    private static Row[] predictions(List<List<HydraBert.Prediction>> perMask) {
        return perMask.stream().flatMap(List::stream)
                .map(p -> RowFactory.create(p.position(), p.tokenId(), p.token(), p.score())).toArray(Row[]::new);
    }


    private static Row append(Row row, Object value) {
        Object[] values = new Object[row.length() + 1];
        for (int i = 0; i < row.length(); i++) values[i] = row.get(i);
        values[row.length()] = value;
        return RowFactory.create(values);
    }
}
