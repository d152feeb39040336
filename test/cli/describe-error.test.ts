import { describe, expect, it } from 'vitest';
import { OFAuthApiError } from '../../lib/errors';
import { describeError } from '../../lib/cli/describe-error';

const apiError = (status: number, path: string, method = 'POST') =>
  new OFAuthApiError({ status, method, path, bodyExcerpt: '{"error":"nope"}', attempts: 1 });

describe('describeError: credentials the API refused name the environment variables', () => {
  it.each([
    ['init', '/v2/access/uploads/init'],
    ['complete', '/v2/access/uploads/complete'],
    ['a plan-less PUT, behind a base URL with a path', '/api/v2/access/uploads/upload:1'],
  ])('401 on %s: OFAUTH_API_KEY (and OFAUTH_CONNECTION_ID)', (_what, path) => {
    const record = describeError(apiError(401, path));
    expect(record.message).toBe(`POST ${path} answered HTTP 401: {"error":"nope"} (the API did not accept the API key: check OFAUTH_API_KEY, and OFAUTH_CONNECTION_ID)`);
    expect(record).toMatchObject({ code: 'ERR_OFAUTH_API', status: 401, path });
  });

  it('403 on init: OFAUTH_CONNECTION_ID first, then OFAUTH_API_KEY', () => {
    const record = describeError(apiError(403, '/v2/access/uploads/init'));
    expect(record.message).toMatch(/answered HTTP 403: \{"error":"nope"\} \(the API key may not upload to this connection: check OFAUTH_CONNECTION_ID, and that OFAUTH_API_KEY is the key of the account it belongs to\)$/);
  });

  it.each([
    ['a 403 on a presigned part URL (it carries no key)', 403, '/upload/upload:1/2', 'PUT'],
    ['a 500 on init', 500, '/v2/access/uploads/init', 'POST'],
    ['a 404 on complete', 404, '/v2/access/uploads/complete', 'POST'],
  ])('%s: the message as the error has it, no hint', (_what, status, path, method) => {
    const error = apiError(status, path, method);
    expect(describeError(error).message).toBe(error.message);
    expect(describeError(error).message).not.toContain('OFAUTH_');
  });
});
