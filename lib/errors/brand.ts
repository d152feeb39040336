// Branding makes `instanceof` hold across copies of this package loaded side by side
// (the ESM and the CJS build in one process, or two installed versions): each class
// answers `instanceof` by a registry symbol, not by prototype identity. The brand is a getter
// on the class's prototype, so the prototype chain carries it: an instance has the brands of
// every class it descends from, and so does a subclass's prototype
// (`OFAuthApiError.prototype instanceof OFAuthUploadError`). The same technique undici uses
// in lib/core/errors.js.

const PREFIX = 'ofauth-upload-stream.error.';

export interface BrandedClass {
  readonly brand: symbol;
  readonly prototype: object;
}

export function brandFor(name: string): symbol {
  return Symbol.for(PREFIX + name);
}

function branded(): boolean {
  return true;
}

/**
 * Puts `brand` (by default the class's own) on `ctor.prototype` as a getter answering true.
 * Non-enumerable, and not on the instance: brands never show up in JSON.stringify or util.inspect.
 */
export function brandPrototype(ctor: BrandedClass, brand: symbol = ctor.brand): void {
  Object.defineProperty(ctor.prototype, brand, { get: branded, enumerable: false, configurable: false });
}

/** True for an object whose prototype chain carries `brand`. */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/**
 * Sets `name` as a non-enumerable own property. Spelled out per class rather than read from
 * `new.target.name`, which a bundler may rename (`PlanError2`).
 */
export function setErrorName(instance: Error, name: string): void {
  Object.defineProperty(instance, 'name', { value: name, enumerable: false, writable: true, configurable: true });
}
