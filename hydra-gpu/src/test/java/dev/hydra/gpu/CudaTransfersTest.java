package dev.hydra.gpu;

import dev.hydra.backend.Buf;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Host transfers in pinned slices: every length, across slice edges, round-trips bit for bit. */
class CudaTransfersTest {

    @Test
    void uploadsAndDownloadsOfEveryLengthRoundTrip() {
        SplittableRandom r = new SplittableRandom(11);
        int slice = 1 << 20;
        try (CudaBackend gpu = Gpu.backend()) {
            for (int n : new int[] {1, 7, slice - 1, slice, slice + 1, 5 * slice + 12345, 9 * slice}) {
                float[] host = new float[n];
                for (int i = 0; i < n; i++) host[i] = (float) r.nextGaussian();
                float[] back = new float[n];
                try (Buf b = gpu.upload(host)) {
                    gpu.download(b, back);
                    assertThat(Arrays.equals(host, back)).as("length %d", n).isTrue();
                    // a prefix of the buffer
                    float[] prefix = new float[n / 2 + 1];
                    gpu.download(b, prefix);
                    assertThat(Arrays.equals(prefix, Arrays.copyOf(host, prefix.length))).as("prefix of length %d", n).isTrue();
                }
            }
        }
    }

    @Test
    void aKernelReadsAnUploadQueuedJustBeforeIt() {
        try (CudaBackend gpu = Gpu.backend()) {
            int rows = 3 << 20, in = 4;
            float[] x = new float[rows * in];
            for (int i = 0; i < x.length; i++) x[i] = i % 97;
            float[] w = {1, 2, 3, 4};
            try (Buf xb = gpu.upload(x); Buf wb = gpu.upload(w); Buf y = gpu.allocate(rows)) {
                gpu.linear(xb, in, 0, rows, in, wb, null, 1, y);
                float[] got = new float[rows];
                gpu.download(y, got);
                for (int m = 0; m < rows; m += 4099) {
                    float want = x[m * in] + 2 * x[m * in + 1] + 3 * x[m * in + 2] + 4 * x[m * in + 3];
                    assertThat(got[m]).as("row %d", m).isEqualTo(want);
                }
            }
        }
    }
}
