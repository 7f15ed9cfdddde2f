package dev.hydra.forward;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Intermediate tensors of one forward pass, for porting and debugging (each row-major):
 * {@code convOut} (B, L, conv_dim) = docs/spec.md §1.3 step 2; {@code dtF, dtB} (B, L, H) = step 3;
 * {@code yF, yB} (B, L, d_inner) = steps 4 and 5 before the shift (null when the mixing ran as a
 * dense matrix); {@code delta} (B, L, H) = the diagonal term of step 6; {@code mix} (B, L, d_inner) =
 * step 6; {@code normed} (B, L, d_inner) = step 7; {@code output} (B, L, d_model) = step 8.
 */
public record Stages<A>(A convOut, A dtF, A dtB, A yF, A yB, A delta, A mix, A normed, A output) {

    /** The stages by the tensor names the CLI writes (shape suffixes: see the record doc). */
    public Map<String, A> named() {
        Map<String, A> m = new LinkedHashMap<>();
        m.put("stage.conv_silu", convOut);
        m.put("stage.dt_forward", dtF);
        m.put("stage.dt_backward", dtB);
        if (yF != null) m.put("stage.scan_forward", yF);
        if (yB != null) m.put("stage.scan_backward", yB);
        m.put("stage.delta", delta);
        m.put("stage.mix", mix);
        m.put("stage.normed", normed);
        m.put("output", output);
        return m;
    }
}
