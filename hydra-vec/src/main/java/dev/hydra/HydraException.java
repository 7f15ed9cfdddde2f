package dev.hydra;

/**
 * Every error this library reports about its input: a malformed file, a missing or misshapen tensor,
 * an impossible configuration, a bad input array. The message is one line and names the offending
 * file, tensor, key or argument, so that a command-line tool can print it as it is.
 */
public class HydraException extends RuntimeException {
    public HydraException(String message) {
        super(message);
    }

    public HydraException(String message, Throwable cause) {
        super(message, cause);
    }
}
