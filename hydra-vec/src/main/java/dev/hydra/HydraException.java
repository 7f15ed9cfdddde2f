package dev.hydra;

/**
 * Every error this library reports about its input: a malformed file, a missing or misshapen tensor,
 * an impossible configuration, a bad input array. The message is one line and names the offending
 * file, tensor, key or argument, so that a command-line tool can print it as it is. Names taken from
 * the input (a tensor name with a line break in it, a megabyte-long key) cannot break that: control
 * characters are escaped and an over-long message keeps its head and tail.
 */
public class HydraException extends RuntimeException {
    /** Messages longer than this keep their first and last half of it. */
    static final int MAX_MESSAGE_CHARS = 2000;

    public HydraException(String message) {
        super(oneLine(message));
    }

    public HydraException(String message, Throwable cause) {
        super(oneLine(message), cause);
    }

    static String oneLine(String message) {
        if (message == null) return "unknown error";
        StringBuilder s = new StringBuilder(Math.min(message.length(), MAX_MESSAGE_CHARS) + 8);
        int n = message.length(), half = MAX_MESSAGE_CHARS / 2;
        for (int i = 0; i < n; i++) {
            if (n > MAX_MESSAGE_CHARS && i == half) {
                s.append(" ... ");
                i = n - half;
            }
            char c = message.charAt(i);
            switch (c) {
                case '\n' -> s.append("\\n");
                case '\r' -> s.append("\\r");
                case '\t' -> s.append("\\t");
                default -> {
                    if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029')
                        s.append(String.format("\\u%04x", (int) c));
                    else s.append(c);
                }
            }
        }
        return s.toString();
    }
}
