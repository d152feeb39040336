// Branding makes `instanceof` hold across copies of this package loaded side by side
// (the ESM and the CJS build in one process, or two installed versions): each class
// answers `instanceof` by a registry symbol on the instance, not by prototype identity.
// The same technique undici uses in lib/core/errors.js.

const PREFIX = 'ofauth-upload-stream.error.';

export interface BrandedClass {
  readonly brand: symbol;
}

export function brandFor(name: string): symbol {
  return Symbol.for(PREFIX + name);
}

/** Marks `instance` with the brand of every branded class in its prototype chain. */
export function applyBrands(instance: object): void {
  let proto: object | null = Object.getPrototypeOf(instance);
  while (proto !== null && proto !== Object.prototype) {
    const ctor = (proto as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function' && Object.prototype.hasOwnProperty.call(ctor, 'brand')) {
      const brand = (ctor as unknown as BrandedClass).brand;
      // Non-enumerable: brands must not show up in JSON.stringify or util.inspect.
      Object.defineProperty(instance, brand, { value: true, enumerable: false });
    }
    proto = Object.getPrototypeOf(proto);
  }
}

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
