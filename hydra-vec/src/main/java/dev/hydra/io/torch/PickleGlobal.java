package dev.hydra.io.torch;

import java.util.List;

/**
 * An inert stand-in for anything a pickle names by module and class or function (an optimizer, a
 * numpy array, Composer's {@code Timestamp}, {@code os.system}): nothing is imported, called or
 * instantiated. {@link #args()} holds what the pickle would have called it with (REDUCE, NEWOBJ),
 * empty for the bare name; {@link #state()} what BUILD would have set on it, or null. Equality is
 * identity, as for the Python objects it stands for.
 */
public final class PickleGlobal {
    private final String module;
    private final String name;
    private final List<Object> args;
    private Object state;

    PickleGlobal(String module, String name, List<Object> args) {
        this.module = module;
        this.name = name;
        this.args = args;
    }

    public String module() {
        return module;
    }

    public String name() {
        return name;
    }

    public String qualifiedName() {
        return module + "." + name;
    }

    public List<Object> args() {
        return args;
    }

    public Object state() {
        return state;
    }

    void build(Object newState) {
        state = newState;
    }

    /** Describes the placeholder without its arguments, which may be large or nested. */
    @Override
    public String toString() {
        return "PickleGlobal[" + qualifiedName() + (args.isEmpty() ? "" : ", " + args.size() + " args") + (state == null ? "" : ", with state") + "]";
    }
}
