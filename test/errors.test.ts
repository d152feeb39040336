import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  EarlyAnswerError,
  InvalidOptionsError,
  InvalidResponseError,
  NetworkError,
  OFAuthApiError,
  OFAuthUploadError,
  PlanError,
  SizeMismatchError,
  TimeoutError,
  UploadExpiredError,
} from '../lib/errors';
import * as errorClasses from '../lib/errors';

const api = { status: 400, method: 'PUT', path: '/v2/x', bodyExcerpt: 'bad', attempts: 1 };

describe('the error family', () => {
  it('every error has a stable code, its own name, and extends OFAuthUploadError', () => {
    const cases: Array<[OFAuthUploadError, string, string]> = [
      [new OFAuthApiError(api), 'OFAuthApiError', 'ERR_OFAUTH_API'],
      [new InvalidResponseError({ ...api, status: 200 }, 'not JSON'), 'InvalidResponseError', 'ERR_OFAUTH_INVALID_RESPONSE'],
      [new EarlyAnswerError({ ...api, status: 200, bytesSent: 5, bodyLength: 9 }), 'EarlyAnswerError', 'ERR_OFAUTH_EARLY_ANSWER'],
      [new PlanError(['gap']), 'PlanError', 'ERR_OFAUTH_PLAN'],
      [new SizeMismatchError(10, 11), 'SizeMismatchError', 'ERR_OFAUTH_SIZE_MISMATCH'],
      [new UploadExpiredError('2020-01-01T00:00:00Z'), 'UploadExpiredError', 'ERR_OFAUTH_UPLOAD_EXPIRED'],
      [new NetworkError({ method: 'PUT', path: '/x', attempts: 6, reason: 'reset' }), 'NetworkError', 'ERR_OFAUTH_NETWORK'],
      [new TimeoutError({ method: 'PUT', path: '/x', attempts: 6, reason: 'headers' }), 'TimeoutError', 'ERR_OFAUTH_TIMEOUT'],
    ];
    for (const [error, name, code] of cases) {
      expect(error).toBeInstanceOf(OFAuthUploadError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(String(error)).toContain(name);
    }
  });

  it('subclass checks are precise', () => {
    expect(new PlanError(['x'])).not.toBeInstanceOf(OFAuthApiError);
    expect(new InvalidResponseError({ ...api, status: 200 }, 'x')).toBeInstanceOf(OFAuthApiError);
    expect(new TimeoutError({ method: 'PUT', path: '/x', attempts: 1, reason: 'r' })).toBeInstanceOf(NetworkError);
    expect(new NetworkError({ method: 'PUT', path: '/x', attempts: 1, reason: 'r' })).not.toBeInstanceOf(TimeoutError);
    expect(new Error('plain')).not.toBeInstanceOf(OFAuthUploadError);
    expect(null).not.toBeInstanceOf(OFAuthUploadError);
  });

  it('a subclass is an instance of its ancestors through its prototype, as ordinary classes are', () => {
    const ancestors: Array<[{ prototype: object }, Array<abstract new (...args: never[]) => unknown>]> = [
      [OFAuthApiError, [OFAuthUploadError, Error]],
      [InvalidResponseError, [OFAuthApiError, OFAuthUploadError, Error]],
      [EarlyAnswerError, [InvalidResponseError, OFAuthApiError, OFAuthUploadError, Error]],
      [NetworkError, [OFAuthUploadError, Error]],
      [TimeoutError, [NetworkError, OFAuthUploadError, Error]],
      [PlanError, [OFAuthUploadError, Error]],
      [SizeMismatchError, [OFAuthUploadError, Error]],
      [UploadExpiredError, [OFAuthUploadError, Error]],
      [InvalidOptionsError, [OFAuthUploadError, TypeError, Error]],
    ];
    for (const [subclass, classes] of ancestors) {
      for (const ancestor of classes) expect(subclass.prototype instanceof ancestor).toBe(true);
    }
    // And only of those.
    expect(PlanError.prototype instanceof OFAuthApiError).toBe(false);
    expect(NetworkError.prototype instanceof TimeoutError).toBe(false);
    expect(OFAuthApiError.prototype instanceof InvalidResponseError).toBe(false);
    expect(AbortError.prototype instanceof OFAuthUploadError).toBe(false);
    expect(InvalidOptionsError.prototype instanceof OFAuthApiError).toBe(false);
  });

  it('every exported class (a new one too) carries its own brand on its prototype and descends from OFAuthUploadError', () => {
    const classes = Object.entries(errorClasses).filter(([name]) => name !== 'AbortError' && name !== 'OFAuthUploadError');
    expect(classes.length).toBeGreaterThanOrEqual(11);
    for (const [name, Class] of classes) {
      const branded = Class as unknown as { brand: symbol; prototype: object };
      expect(Object.getOwnPropertySymbols(branded.prototype), name).toContain(branded.brand);
      expect(branded.prototype instanceof OFAuthUploadError, name).toBe(true);
    }
  });

  it('brands live on the prototypes, not on each instance', () => {
    const errors = [
      new OFAuthApiError(api),
      new TimeoutError({ method: 'PUT', path: '/x', attempts: 1, reason: 'r' }),
      new InvalidOptionsError(['x']),
      new AbortError(),
    ];
    for (const error of errors) expect(Object.getOwnPropertySymbols(error)).toEqual([]);
  });

  it('instanceof holds for an error whose prototype chain comes from another copy of the classes', () => {
    // What the other build's classes look like: their own prototypes, with the registry brands.
    const brand = (name: string) => Symbol.for(`ofauth-upload-stream.error.${name}`);
    const foreignBase = Object.create(Error.prototype) as object;
    Object.defineProperty(foreignBase, brand('OFAuthUploadError'), { get: () => true });
    const foreignNetwork = Object.create(foreignBase) as object;
    Object.defineProperty(foreignNetwork, brand('NetworkError'), { get: () => true });
    const foreign = Object.create(foreignNetwork) as Error;
    expect(foreign).toBeInstanceOf(NetworkError);
    expect(foreign).toBeInstanceOf(OFAuthUploadError);
    expect(foreign).not.toBeInstanceOf(TimeoutError);
    expect(foreign).not.toBeInstanceOf(OFAuthApiError);
  });

  it('instanceof holds for an error branded on the instance itself, as earlier versions did', () => {
    // A structurally foreign object carrying the registry brand, as the other build's instances do.
    const foreign = Object.create(Error.prototype) as Error;
    Object.defineProperty(foreign, Symbol.for('ofauth-upload-stream.error.OFAuthUploadError'), { value: true });
    Object.defineProperty(foreign, Symbol.for('ofauth-upload-stream.error.PlanError'), { value: true });
    expect(foreign).toBeInstanceOf(OFAuthUploadError);
    expect(foreign).toBeInstanceOf(PlanError);
    expect(foreign).not.toBeInstanceOf(SizeMismatchError);
  });

  it('InvalidOptionsError is a TypeError and an OFAuthUploadError', () => {
    const error = new InvalidOptionsError(['option "size": too small']);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(OFAuthUploadError);
    expect(error.code).toBe('ERR_OFAUTH_INVALID_OPTIONS');
    expect(error.message).toContain('option "size"');
  });

  it('AbortError is not an OFAuthUploadError and keeps the signal reason as cause', () => {
    const reason = new Error('user cancelled');
    const error = new AbortError('aborted', { cause: reason });
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect(error.cause).toBe(reason);
    expect(error).not.toBeInstanceOf(OFAuthUploadError);
  });

  it('serializes to plain JSON with its details and no brands', () => {
    const error = new SizeMismatchError(10, 4);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'SizeMismatchError',
      code: 'ERR_OFAUTH_SIZE_MISMATCH',
      message: error.message,
      expected: 10,
      received: 4,
    });
    expect(inspect(error)).not.toContain('Symbol(');
  });
});
