package dev.hydra.layer;

import dev.hydra.backend.Buf;
import dev.hydra.backend.Sequences;
import dev.hydra.backend.Workspace;

/**
 * An fp32 sequence layer as a model chains it on its backend: input and output stay in {@link Buf}s of
 * the layer's backend, the activations come from the caller's {@link Workspace}. The {@code float[]} and
 * {@code double[]} entry points of the layers are conveniences around this one.
 */
public interface BufLayer extends AutoCloseable {
    /** Floats of workspace a forward pass over {@code rows} rows (of any sequences) takes, over all its slots. */
    long workspaceFloats(long rows);

    /**
     * out (rows, d_model) = the layer applied to each sequence of {@code seqs} in in (rows, d_model), each
     * exactly as if it ran alone: the per-token steps run once over all rows, the conv, scan and shift per
     * sequence. {@code in} and {@code out} are distinct buffers of this layer's backend and are not slots of {@code ws}.
     */
    void forward(Buf in, Buf out, Sequences seqs, Workspace ws);

    @Override
    void close();
}
