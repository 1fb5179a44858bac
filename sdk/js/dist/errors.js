/**
 * Any failed call: an error answer from the server (`status` is its HTTP status), a network
 * failure or an abort (`status` 0), or input refused before sending (`status` 0, `url` empty).
 *
 * `data` holds the field errors of the API error shape
 * `{"status": 400, "message": "…", "data": {"title": {"code": "…", "message": "…"}}}`.
 * A sign-in that needs a second factor answers 401 `{"mfaId": "…"}`: read it as `err.mfaId`.
 */
export class ClientError extends Error {
    /** The HTTP status; 0 when no answer came (network error, abort) or the input was refused. */
    status;
    /** Field errors (`{field: {code, message}}`), or `{}`. */
    data;
    /** The request's URL (never carries a token), or "" for input refused before sending. */
    url;
    /** The whole parsed error body, when there was one. */
    response;
    /** True when the request was aborted (by the caller's signal or the client's timeout). */
    isAbort;
    constructor(status, message, opts = {}) {
        super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
        this.name = "ClientError";
        this.status = status;
        this.data = opts.data ?? {};
        this.url = opts.url ?? "";
        this.response = opts.response ?? {};
        this.isAbort = opts.isAbort ?? false;
    }
    /** The MFA session id of a first factor that needs a second one (401 `{"mfaId"}`), if any. */
    get mfaId() {
        const id = this.response["mfaId"];
        return typeof id === "string" ? id : undefined;
    }
}
/** Input the SDK refuses before sending anything (the server would refuse it too). */
export function invalid(message, field, code = "validation_invalid_value") {
    return new ClientError(0, message, field ? { data: { [field]: { code, message } } } : {});
}
