package dev.hydra.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hydra.HydraException;
import dev.hydra.cli.plot.Gallery.Panel;
import dev.hydra.cli.plot.Gallery;
import dev.hydra.cli.plot.Heatmap;
import dev.hydra.config.HydraConfig;
import dev.hydra.config.JsonKeys;
import dev.hydra.config.MixerConfig;
import dev.hydra.config.MixerType;
import dev.hydra.io.AtomicFiles;
import dev.hydra.io.InMemoryTensors;
import dev.hydra.io.SafeTensors;
import dev.hydra.io.TensorSource;
import dev.hydra.layer.Layers;
import dev.hydra.layer.SequenceLayer;
import dev.hydra.reference.ReferenceMixer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.MixerWeights;
import dev.hydra.weights.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code hydra plot}: PNG heatmaps of a layer's materialized mixer matrix, or the gallery of all seven families. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Render the materialized mixer matrix (B, H, L, L) of a layer and input as PNG heatmaps, one panel per head.",
                "With --gallery, render all seven matrix mixer families (data-dependent and -independent) from seeded weights."})
public final class PlotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--gallery", description = "Render the seven families side by side (ignores the layer options).")
    boolean gallery;

    @Option(names = "--config", paramLabel = "JSON", description = "Layer config (Hydra or matrix mixer); default: the weights file's 'config' metadata.")
    Path config;

    @Option(names = "--weights", paramLabel = "SAFETENSORS", description = "Layer weights; default: seeded weights (see --seed).")
    Path weights;

    @Option(names = "--prefix", defaultValue = "", description = "State-dict prefix of the layer in the weights file (default: none).")
    String prefix;

    @Option(names = "--input", paramLabel = "SAFETENSORS", description = "Input (B, L, d_model) file; default: a seeded random input (1, --length, d_model).")
    Path input;

    @Option(names = "--input-tensor", defaultValue = "input", description = "Tensor name in --input (default: ${DEFAULT-VALUE}).")
    String inputTensor;

    @Option(names = "--length", description = "Length of the seeded input (default: max_seq_len of a mixer config, else 32).")
    Integer length;

    @Option(names = "--batch-index", defaultValue = "0", description = "Which batch element to draw (default: ${DEFAULT-VALUE}).")
    int batchIndex;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of seeded weights and input (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--panel-px", defaultValue = "192", description = "Size of one heatmap panel in pixels (default: ${DEFAULT-VALUE}).")
    int panelPx;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PNG", description = "The PNG file to write.")
    Path output;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    @Override
    public Integer call() {
        System.setProperty("java.awt.headless", "true");
        if (panelPx < 16 || panelPx > 2048) throw new ParameterException(spec.commandLine(), "--panel-px must be in [16, 2048], got " + panelPx);
        if (!gallery && config == null && weights == null)
            throw new ParameterException(spec.commandLine(), "give --config, --weights (with a 'config' metadata entry) or --gallery");
        AtomicFiles.refuseExisting(output, force);
        if (gallery) {
            Heatmap.write(Gallery.render("The matrix mixer family: seeded weights, one seeded input, L = " + GALLERY_LEN
                    + " (top: data-dependent, bottom: data-independent)", galleryPanels(seed), MixerType.values().length, panelPx), output, force);
        } else {
            plotLayer();
        }
        System.out.println("wrote " + output);
        return 0;
    }

    static final int GALLERY_LEN = 32;

    /** Every family's matrix for one seeded input: the data-dependent variants, then the data-independent ones. */
    static List<Panel> galleryPanels(long seed) {
        List<Panel> dd = new ArrayList<>(), di = new ArrayList<>();
        double[] u = seededInput(GALLERY_LEN * 16, seed);
        for (MixerType t : MixerType.values())
            for (boolean dataDependent : new boolean[] {true, false}) {
                List<Panel> row = dataDependent ? dd : di;
                String label = t.key() + (dataDependent ? " (DD)" : " (DI)");
                if (t == MixerType.DENSE && dataDependent) {
                    row.add(new Panel(label, null, GALLERY_LEN));
                    continue;
                }
                // one head (headdim = d_inner), qk_dim 4, so each panel is the whole mixer of a d_model 16 layer
                MixerConfig c = new MixerConfig(t, dataDependent, 16, 4, GALLERY_LEN, 7, 2, 32, 8);
                InMemoryTensors w = MixerWeights.seeded(c, seed + t.ordinal());
                if (t == MixerType.QUASISEPARABLE) {
                    // dt = 0.5 and A = -1 instead of the release's small initial dt, so that the decaying
                    // off-diagonal bands are visible beside the diagonal
                    w.put("matrix_mixer.dt_bias", new float[] {(float) Math.log(Math.expm1(0.5))}, 1);
                    w.put("matrix_mixer.A_log", new float[] {0f}, 1);
                    label += ", dt 0.5";
                }
                ReferenceMixer m = new ReferenceMixer(MixerWeights.load(c, w, "", Precision.FP64));
                row.add(new Panel(label, m.materialize(u, 1, GALLERY_LEN), GALLERY_LEN));
            }
        dd.addAll(di);
        return dd;
    }

    private void plotLayer() {
        try (SafeTensors w = weights == null ? null : SafeTensors.open(weights)) {
            ObjectNode cfg = config != null ? JsonKeys.readObject(config) : w.metadataJson("config");
            String cfgSource = config != null ? config.toString() : weights + " (metadata 'config')";
            // a config file is strict; the golden files' metadata carries annotations beside the layer's keys
            Set<String> ignored = config != null ? Set.of() : LayerOptions.METADATA_ANNOTATIONS;
            TensorSource src = w != null ? w : seededWeights(cfg, cfgSource, ignored);
            String pre = w != null ? prefix : "";
            try (SequenceLayer layer = Layers.load(cfg, cfgSource, ignored, src, pre, Precision.FP64, null)) {
                int[] shape = new int[2];
                double[] u = readInput(cfg, layer.dModel(), shape);
                int batch = shape[0], len = shape[1];
                if (batchIndex < 0 || batchIndex >= batch)
                    throw new HydraException("--batch-index " + batchIndex + " is outside the input's batch of " + batch);
                double[] m = layer.materialize(u, batch, len);
                List<Panel> panels = new ArrayList<>();
                int h = layer.heads();
                for (int head = 0; head < h; head++) {
                    int from = (batchIndex * h + head) * len * len;
                    panels.add(new Panel("head " + head, Arrays.copyOfRange(m, from, from + len * len), len));
                }
                String kind = MixerConfig.describes(cfg) ? cfg.get("matrix_mixer_type").asText() + " mixer" : "Hydra";
                Heatmap.write(Gallery.render(kind + " matrix, batch element " + batchIndex + ", L = " + len,
                        panels, Math.min(h, 8), panelPx), output, force);
            }
        }
    }

    private TensorSource seededWeights(ObjectNode cfg, String source, Set<String> ignored) {
        return MixerConfig.describes(cfg)
                ? MixerWeights.seeded(MixerConfig.fromJson(cfg, source, ignored), seed)
                : HydraWeights.seeded(HydraConfig.fromJson(cfg, source, ignored), seed);
    }

    private double[] readInput(ObjectNode cfg, int dModel, int[] shape) {
        if (input == null) {
            JsonNode max = cfg.get("max_seq_len");
            int len = length != null ? length : max != null && max.canConvertToInt() ? max.intValue() : 32;
            if (len < 1) throw new HydraException("--length must be positive, got " + len);
            shape[0] = 1;
            shape[1] = len;
            return seededInput(len * dModel, seed);
        }
        try (SafeTensors in = SafeTensors.open(input)) {
            if (!in.contains(inputTensor)) throw new HydraException(input + ": missing tensor '" + inputTensor + "'");
            long[] s = in.info(inputTensor).shape();
            if (s.length != 3 || s[2] != dModel)
                throw new HydraException(input + ": tensor '" + inputTensor + "' has shape " + in.info(inputTensor).shapeString()
                        + ", expected (B, L, " + dModel + ")");
            shape[0] = (int) s[0];
            shape[1] = (int) s[1];
            return in.doubles(inputTensor);
        }
    }

    private static double[] seededInput(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = 2 * r.nextDouble() - 1;
        return u;
    }
}
