/** What to reconcile: a key, never an event. `namespace` is '' for cluster-scoped objects. */
export interface Request {
  readonly namespace: string;
  readonly name: string;
}

/** Outcome of a successful reconcile. There is no boolean "requeue": ask for a delay instead. */
export interface Result {
  /** Reconcile this key again after this many milliseconds (e.g. to poll an external system). */
  readonly requeueAfterMs?: number;
}

/**
 * Drives the cluster towards the state a key's object asks for. Level-triggered: it reads current
 * state (usually from an informer cache) rather than reacting to the event that queued it, so it must
 * be idempotent and correct no matter how many events were coalesced into one call.
 */
export interface Reconciler {
  /**
   * Reconciles one key. Resolve to finish (the key's backoff is reset); throw to be retried with
   * per-key exponential backoff; throw {@link TerminalError} to log and count the failure without a
   * retry. `signal` aborts when the controller shuts down: stop early, the key is not retried.
   */
  reconcile(req: Request, signal: AbortSignal): Promise<Result>;
}

/** A failure that retrying cannot fix (e.g. an invalid spec): logged and counted, never retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** True if `err`, or any error in its `cause` chain, is a {@link TerminalError}. */
export function isTerminalError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof TerminalError) return true;
  }
  return false;
}

/** The work-queue key of a request: `namespace/name`, or `name` when cluster-scoped. */
export function keyOf(req: Request): string {
  return req.namespace === '' ? req.name : `${req.namespace}/${req.name}`;
}

/** Inverse of {@link keyOf}. */
export function parseKey(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The request that reconciles `obj` itself. */
export function requestFor(obj: {
  readonly metadata?: { readonly namespace?: string; readonly name?: string };
}): Request {
  return { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
}
