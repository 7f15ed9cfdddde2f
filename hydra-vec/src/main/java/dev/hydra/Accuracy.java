package dev.hydra;

/**
 * The accuracy measure of the golden files' README, used by the demo, the benchmarks and every
 * equivalence test: max |ours - ref| / max |ref| over the whole tensor (NaN anywhere gives NaN).
 */
public final class Accuracy {
    private Accuracy() {}

    public static double relErr(double[] ours, double[] ref) {
        checkLengths(ours.length, ref.length);
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num = Math.max(num, Math.abs(ours[i] - ref[i]));
            den = Math.max(den, Math.abs(ref[i]));
        }
        return num / den;
    }

    public static double relErr(float[] ours, double[] ref) {
        return relErr(widen(ours), ref);
    }

    public static double relErr(float[] ours, float[] ref) {
        return relErr(widen(ours), widen(ref));
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private static void checkLengths(int ours, int ref) {
        if (ours != ref) throw new IllegalArgumentException("relErr: " + ours + " values compared with " + ref);
    }
}
