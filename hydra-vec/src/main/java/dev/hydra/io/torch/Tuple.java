package dev.hydra.io.torch;

import java.util.AbstractList;
import java.util.RandomAccess;

/**
 * A Python tuple: an immutable list. Unlike a list it may be a dict key, so it knows how deeply tuples
 * nest inside it (bounded when it is made), which bounds hashing and comparing it.
 */
final class Tuple extends AbstractList<Object> implements RandomAccess {
    private final Object[] items;
    final int depth;

    Tuple(Object[] items) {
        this.items = items;
        int d = 0;
        for (Object o : items) if (o instanceof Tuple t) d = Math.max(d, t.depth);
        this.depth = d + 1;
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
