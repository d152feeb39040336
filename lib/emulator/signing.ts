import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Presigned-style URLs for the foreign part server: the signature, not a header, authorizes the
 * PUT, which is why a client must not (and need not) send its API key there.
 */
export class UrlSigner {
  private readonly secret = randomBytes(32);

  sign(path: string, expiresAtMs: number): string {
    const expires = String(Math.floor(expiresAtMs / 1000));
    return `${path}?X-Expires=${expires}&X-Signature=${this.mac(path, expires)}`;
  }

  verify(path: string, query: URLSearchParams): boolean {
    const expires = query.get('X-Expires');
    const signature = query.get('X-Signature');
    if (!expires || !signature || !/^[0-9a-f]{64}$/.test(signature)) return false;
    return timingSafeEqual(Buffer.from(signature, 'hex'), Buffer.from(this.mac(path, expires), 'hex'));
  }

  private mac(path: string, expires: string): string {
    return createHmac('sha256', this.secret).update(`PUT\n${path}\n${expires}`).digest('hex');
  }
}
