/**
 * Reading Kubernetes API failures as @kubernetes/client-node 2.0.1 reports them. Checked against a real
 * kube-apiserver (see errors.it.test.ts); the client throws three different shapes:
 *
 * 1. typed API calls (`CoreV1Api.readNamespacedConfigMap`, …) and this package's `kubeRequest` throw
 *    `ApiException`: `code` is the HTTP status (404, 409, 410, 422, …), `body` is the response text —
 *    a JSON `Status` as a **string**, not a parsed object — and `headers` a plain record. The message
 *    is `HTTP-Code: 404\nMessage: Unknown API Status Code!\nBody: …`. (There is no
 *    `response.statusCode`: that was the 0.x shape.)
 * 2. `Watch` gives a non-200 watch response to its `done` callback as a plain `Error` whose message is
 *    the status text and whose `statusCode` is the HTTP status; there is no body.
 * 3. Inside a 200 watch stream, failures arrive as an `ERROR` event whose object is a `Status`
 *    (`{kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: …'}`).
 *
 * Transport failures are none of these: undici's `TypeError('fetch failed')` with `cause.code`
 * `ECONNREFUSED` while the apiserver is down, `TypeError('terminated')` when it drops a stream.
 */

/** The fields of a `metav1.Status` that failures carry. */
export interface ApiStatus {
  readonly code?: number;
  /** e.g. NotFound, AlreadyExists, Conflict, Invalid, Expired, Gone, BadRequest. */
  readonly reason?: string;
  readonly message?: string;
  readonly details?: unknown;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

/** The HTTP status code of an API failure in any of the three shapes, or undefined. */
export function apiErrorCode(err: unknown): number | undefined {
  const r = asRecord(err);
  if (r === undefined) return undefined;
  if (typeof r.code === 'number') return r.code; // ApiException, or a Status object
  if (typeof r.statusCode === 'number') return r.statusCode; // Watch's non-200 Error
  return undefined;
}

/** The `Status` an API failure carries (parsed from ApiException's string body), if any. */
export function apiErrorStatus(err: unknown): ApiStatus | undefined {
  const r = asRecord(err);
  if (r === undefined) return undefined;
  if (r.kind === 'Status') return r as ApiStatus;
  const body = r.body;
  if (typeof body === 'string') {
    try {
      const parsed = asRecord(JSON.parse(body));
      if (parsed?.kind === 'Status') return parsed as ApiStatus;
    } catch {
      return undefined;
    }
  }
  const obj = asRecord(body);
  return obj?.kind === 'Status' ? (obj as ApiStatus) : undefined;
}

/** The `Status.reason` of an API failure (distinguishes AlreadyExists from Conflict, both 409). */
export function apiErrorReason(err: unknown): string | undefined {
  return apiErrorStatus(err)?.reason;
}

/** True if `err` is an API failure, with HTTP status `code` when given. */
export function isApiError(err: unknown, code?: number): boolean {
  const actual = apiErrorCode(err);
  return actual !== undefined && (code === undefined || actual === code);
}

export const isNotFound = (err: unknown): boolean => isApiError(err, 404);
/** 409 of either kind: AlreadyExists (create) or Conflict (stale resourceVersion). */
export const isConflict = (err: unknown): boolean => isApiError(err, 409);
export const isAlreadyExists = (err: unknown): boolean =>
  isApiError(err, 409) && apiErrorReason(err) === 'AlreadyExists';
/** 410: a resourceVersion or continue token too old for the apiserver to serve. */
export const isGone = (err: unknown): boolean => isApiError(err, 410);
/** 422: the object failed validation. */
export const isInvalid = (err: unknown): boolean => isApiError(err, 422);

/** Resolves to undefined instead of rejecting when the API says 404 (controller-runtime's IgnoreNotFound). */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A one-line description of any error, with the apiserver's own message when there is one. */
export function describeError(err: unknown): string {
  const status = apiErrorStatus(err);
  const code = apiErrorCode(err);
  if (status?.message !== undefined)
    return `${code ?? status.code ?? '?'} ${status.reason ?? ''}: ${status.message}`;
  if (err instanceof Error) {
    const cause = asRecord(err.cause);
    const causeCode = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
    return code !== undefined ? `${code} ${err.message}` : `${err.message}${causeCode}`;
  }
  return String(err);
}
