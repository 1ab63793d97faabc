import type { Operation as PatchOperation } from 'fast-json-patch';
import fastJsonPatch from 'fast-json-patch';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** admission.k8s.io/v1 AdmissionRequest (the fields the webhook reads, plus what tests send). */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  readonly subResource?: string;
  readonly requestKind?: GroupVersionKind;
  readonly requestResource?: GroupVersionResource;
  readonly name?: string;
  readonly namespace?: string;
  readonly operation: Operation;
  readonly userInfo?: {
    readonly username?: string;
    readonly uid?: string;
    readonly groups?: readonly string[];
  };
  readonly object?: unknown;
  readonly oldObject?: unknown;
  /** The request will not be persisted: the webhook must have no side effect (sideEffects NoneOnDryRun). */
  readonly dryRun?: boolean;
  readonly options?: unknown;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  /** base64 of a JSON Patch (RFC 6902) array. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
  readonly status?: { readonly code?: number; readonly message?: string; readonly reason?: string };
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

export interface AdmissionReview {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly request?: AdmissionRequest;
  readonly response?: AdmissionResponse;
}

export class AdmissionReviewError extends Error {
  readonly code = 'ERR_WEBHOOK_BAD_REVIEW';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape of an incoming review; throws AdmissionReviewError (answered with HTTP 400). */
export function parseAdmissionReview(body: unknown): AdmissionReview & { request: AdmissionRequest } {
  if (!isObject(body)) throw new AdmissionReviewError('body is not a JSON object');
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError(
      `expected ${ADMISSION_API_VERSION} AdmissionReview, got ${String(body.apiVersion)} ${String(body.kind)}`,
    );
  }
  const req = body.request;
  if (!isObject(req)) throw new AdmissionReviewError('AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid === '') throw new AdmissionReviewError('request.uid is missing');
  if (!isObject(req.kind) || typeof req.operation !== 'string') {
    throw new AdmissionReviewError('request.kind or request.operation is missing');
  }
  return body as unknown as AdmissionReview & { request: AdmissionRequest };
}

export function isDryRun(req: AdmissionRequest): boolean {
  return req.dryRun === true;
}

/** Allowed, unchanged. */
export function allowed(
  req: Pick<AdmissionRequest, 'uid'>,
  warnings: readonly string[] = [],
): AdmissionResponse {
  return { uid: req.uid, allowed: true, ...(warnings.length > 0 ? { warnings: [...warnings] } : {}) };
}

/**
 * Allowed with the JSON Patch that turns `original` into `mutated`, computed by diffing (never written by
 * hand). Equal objects give a response without a patch.
 */
export function patched(
  req: Pick<AdmissionRequest, 'uid'>,
  original: unknown,
  mutated: unknown,
  warnings: readonly string[] = [],
): AdmissionResponse {
  const ops = fastJsonPatch.compare(original as object, mutated as object);
  if (ops.length === 0) return allowed(req, warnings);
  return {
    ...allowed(req, warnings),
    patchType: 'JSONPatch',
    patch: Buffer.from(JSON.stringify(ops)).toString('base64'),
  };
}

/** The JSON Patch of a response, decoded (tests and logs). */
export function decodePatch(res: AdmissionResponse): PatchOperation[] {
  if (!res.patch) return [];
  return JSON.parse(Buffer.from(res.patch, 'base64').toString('utf8')) as PatchOperation[];
}

/** `original` with the response's patch applied, without changing `original`. */
export function applyResponse<T>(original: T, res: AdmissionResponse): T {
  return fastJsonPatch.applyPatch(structuredClone(original), decodePatch(res), true, false).newDocument;
}

export function review(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
