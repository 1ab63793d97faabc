import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import {
  apiErrorCode,
  apiErrorReason,
  describeError,
  ignoreNotFound,
  isAlreadyExists,
  isApiError,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
} from './errors.ts';

/** An ApiException as client-node 2.0.1's generated APIs build it: the body is the raw response text. */
function apiException(code: number, reason: string, message: string): ApiException<string> {
  const body = `${JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code })}\n`;
  return new ApiException(code, 'Unknown API Status Code!', body, { 'content-type': 'application/json' });
}

describe('isApiError', () => {
  it('should read the code of an ApiException', () => {
    const err = apiException(404, 'NotFound', 'configmaps "x" not found');
    assert.equal(apiErrorCode(err), 404);
    assert.equal(isApiError(err), true);
    assert.equal(isApiError(err, 404), true);
    assert.equal(isApiError(err, 409), false);
    assert.equal(isNotFound(err), true);
  });

  it("should read the statusCode of Watch's non-200 error", () => {
    const err = Object.assign(new Error('Gone'), { statusCode: 410 });
    assert.equal(isGone(err), true);
    assert.equal(isNotFound(err), false);
  });

  it('should read the code of a Status from a watch ERROR event', () => {
    const status = { kind: 'Status', apiVersion: 'v1', code: 410, reason: 'Expired', message: 'too old' };
    assert.equal(isGone(status), true);
    assert.equal(apiErrorReason(status), 'Expired');
  });

  it('should tell AlreadyExists from Conflict, both 409, by the reason in the string body', () => {
    const exists = apiException(409, 'AlreadyExists', 'configmaps "a" already exists');
    const stale = apiException(409, 'Conflict', 'the object has been modified');
    assert.equal(isConflict(exists) && isConflict(stale), true);
    assert.equal(isAlreadyExists(exists), true);
    assert.equal(isAlreadyExists(stale), false);
    assert.equal(isInvalid(apiException(422, 'Invalid', 'bad name')), true);
  });

  it('should not take transport failures or other values for API errors', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    for (const v of [refused, new Error('boom'), undefined, null, 'Not Found', 404, { code: 'ENOENT' }]) {
      assert.equal(isApiError(v), false, String(v));
    }
    assert.equal(describeError(refused), 'fetch failed (ECONNREFUSED)');
  });

  it("should describe an API error with the apiserver's message", () => {
    assert.equal(
      describeError(apiException(404, 'NotFound', 'configmaps "x" not found')),
      '404 NotFound: configmaps "x" not found',
    );
  });
});

describe('ignoreNotFound', () => {
  it('should turn a 404 into undefined and pass everything else through', async () => {
    assert.equal(await ignoreNotFound(Promise.reject(apiException(404, 'NotFound', 'gone'))), undefined);
    assert.equal(await ignoreNotFound(Promise.resolve(7)), 7);
    await assert.rejects(ignoreNotFound(Promise.reject(apiException(409, 'Conflict', 'x'))), (e) =>
      isConflict(e),
    );
  });
});
