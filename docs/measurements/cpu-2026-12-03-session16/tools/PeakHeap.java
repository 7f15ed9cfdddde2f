import dev.hydra.config.HydraConfig;
import dev.hydra.kernels.VectorBackend;
import dev.hydra.layer.HydraLayer;
import dev.hydra.weights.HydraWeights;
import dev.hydra.weights.Precision;
import java.lang.management.*;
import java.util.*;
public class PeakHeap {
  public static void main(String[] a) {
    HydraConfig c = new HydraConfig(768, 64, 7, 2, 64, 1, 0.0, Double.POSITIVE_INFINITY, false, false, true, 256);
    int len = Integer.parseInt(a[0]);
    System.gc();
    List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
    long before = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
    heap.forEach(MemoryPoolMXBean::resetPeakUsage);
    try (HydraLayer layer = new HydraLayer(HydraWeights.load(c, HydraWeights.seeded(c, 1), "", Precision.FP32), new VectorBackend(2))) {
      SplittableRandom r = new SplittableRandom(2);
      float[] u = new float[len * 768];
      for (int i = 0; i < u.length; i++) u[i] = (float) (r.nextDouble() * 2 - 1);
      layer.forward(u, 1, len);
    }
    StringBuilder sb = new StringBuilder();
    for (MemoryPoolMXBean p : heap) sb.append(p.getName()).append('=').append(String.format("%.2f", p.getPeakUsage().getUsed() / 1073741824.0)).append(' ');
    long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() - before;
    System.out.printf("peak %.2f GiB  %s%n", peak / 1073741824.0, sb);
  }
}
