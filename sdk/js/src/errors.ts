/** One field's error, as the server reports it in `data`. */
export interface FieldError {
  code: string;
  message: string;
  [key: string]: unknown;
}

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
  readonly status: number;
  /** Field errors (`{field: {code, message}}`), or `{}`. */
  readonly data: Record<string, FieldError>;
  /** The request's URL (never carries a token), or "" for input refused before sending. */
  readonly url: string;
  /** The whole parsed error body, when there was one. */
  readonly response: Record<string, unknown>;
  /** True when the request was aborted (by the caller's signal or the client's timeout). */
  readonly isAbort: boolean;

  constructor(
    status: number,
    message: string,
    opts: { data?: Record<string, FieldError>; url?: string; response?: Record<string, unknown>; isAbort?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ClientError";
    this.status = status;
    this.data = opts.data ?? {};
    this.url = opts.url ?? "";
    this.response = opts.response ?? {};
    this.isAbort = opts.isAbort ?? false;
  }

  /** The MFA session id of a first factor that needs a second one (401 `{"mfaId"}`), if any. */
  get mfaId(): string | undefined {
    const id = this.response["mfaId"];
    return typeof id === "string" ? id : undefined;
  }
}

/** Input the SDK refuses before sending anything (the server would refuse it too). */
export function invalid(message: string, field?: string, code = "validation_invalid_value"): ClientError {
  return new ClientError(0, message, field ? { data: { [field]: { code, message } } } : {});
}
