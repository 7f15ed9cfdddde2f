package dev.hydra.io.torch;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A Python tuple: an immutable list. Unlike a list it may be a dict key, so it knows how deeply tuples
 * nest in it and how many values hashing or comparing it visits (shared sub-tuples counted each time
 * they are reached), so that a hostile key cannot make a hash or an equality test run forever.
 */
final class Tuple extends AbstractList<Object> implements RandomAccess {
    private final Object[] items;
    final int depth;
    /** Values visited by a recursive hash or comparison, saturating at Long.MAX_VALUE. */
    final long weight;

    Tuple(Object[] items) {
        this.items = items;
        int d = 0;
        long w = 1;
        for (Object o : items) {
            if (o instanceof Tuple t) {
                d = Math.max(d, t.depth);
                w = w > Long.MAX_VALUE - t.weight ? Long.MAX_VALUE : w + t.weight;
            } else {
                w = w == Long.MAX_VALUE ? w : w + 1;
            }
        }
        this.depth = d + 1;
        this.weight = w;
    }

    @Override
    public Object get(int index) {
        return items[index];
    }

    @Override
    public int size() {
        return items.length;
    }
}
