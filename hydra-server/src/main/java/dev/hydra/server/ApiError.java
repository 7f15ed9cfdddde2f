package dev.hydra.server;

/**
 * A request answered with an error: the HTTP status and the OpenAI error object
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type;
    final String code;
    final String param;

    ApiError(int status, String type, String code, String param, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /** 400 for a field: {@code param} names it, the message says what is wrong with it. */
    static ApiError badField(String param, String message) {
        return new ApiError(400, "invalid_request_error", "invalid_value", param, message);
    }

    static ApiError tooLarge(String param, String message) {
        return new ApiError(413, "invalid_request_error", "request_too_large", param, message);
    }
}
