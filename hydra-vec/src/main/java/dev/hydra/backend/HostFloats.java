package dev.hydra.backend;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/** Host floats given as a {@link MemorySegment}: a Java array's segment or native memory. */
public final class HostFloats {
    private HostFloats() {}

    /** The float[] behind {@code s} when s is a whole Java float array (as {@link MemorySegment#ofArray(float[])} makes). */
    public static Optional<float[]> wholeArray(MemorySegment s) {
        return s.heapBase().filter(base -> base instanceof float[] a && s.address() == 0 && s.byteSize() == (long) a.length * Float.BYTES)
                .map(base -> (float[]) base);
    }

    /** The floats of {@code s} on the heap: the array itself when s is a whole Java float array, else a copy. */
    public static float[] array(MemorySegment s) {
        return wholeArray(s).orElseGet(() -> s.toArray(ValueLayout.JAVA_FLOAT));
    }
}
