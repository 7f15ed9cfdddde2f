package dev.hydra.layer;

import dev.hydra.HydraException;

/** Shape and finiteness checks for layer inputs, with messages that name the offending element. */
public final class Inputs {
    private Inputs() {}

    public static void checkShape(long length, int batch, int len, int width, String what) {
        if (batch < 1 || len < 1)
            throw new HydraException(what + ": batch and length must be positive, got (" + batch + ", " + len + ")");
        if ((long) batch * len * width != length)
            throw new HydraException(what + ": " + length + " values do not match shape (" + batch + ", " + len + ", " + width + ")");
    }

    public static void checkFinite(float[] u, int len, int width, String what) {
        for (int i = 0; i < u.length; i++)
            if (!Float.isFinite(u[i])) throw notFinite(what, u[i], i, len, width);
    }

    public static void checkFinite(double[] u, int len, int width, String what) {
        for (int i = 0; i < u.length; i++)
            if (!Double.isFinite(u[i])) throw notFinite(what, u[i], i, len, width);
    }

    private static HydraException notFinite(String what, double v, int i, int len, int width) {
        int b = i / (len * width), t = (i / width) % len, c = i % width;
        return new HydraException(what + ": element (" + b + ", " + t + ", " + c + ") is " + v + "; inputs must be finite");
    }
}
