package dev.hydra.math;

/** Hydra's step 6, shared by the Hydra layer and the quasiseparable matrix mixer. */
public final class ShiftAddDiagonal {
    private ShiftAddDiagonal() {}

    /** Step 6: y[t] = y_f[t-1] + y_b[t+1] + x_t delta[t, h]. */
    public static double[] apply(ScanInputs in, double[] yF, double[] yB, double[] delta) {
        int L = in.len(), H = in.heads(), P = in.headdim(), D = H * P;
        double[] y = new double[in.batch() * L * D];
        for (int b = 0; b < in.batch(); b++)
            for (int t = 0; t < L; t++)
                for (int h = 0; h < H; h++)
                    for (int p = 0; p < P; p++) {
                        int i = (b * L + t) * D + h * P + p;
                        double v = in.x()[i] * delta[(b * L + t) * H + h];
                        if (t > 0) v += yF[i - D];
                        if (t < L - 1) v += yB[i + D];
                        y[i] = v;
                    }
        return y;
    }
}
