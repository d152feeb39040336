import { describe, expect, it } from 'vitest';
import { bodyExcerpt, redactSecrets, safePath } from '../lib/redact';

describe('redact', () => {
  it('safePath drops origin, userinfo, query and fragment', () => {
    const url = 'https://user:pw@storage.example/bucket/part?X-Signature=abc&X-Expires=1#frag';
    expect(safePath(url)).toBe('/bucket/part');
    expect(safePath('not a url')).toBe('[invalid URL]');
  });

  it('redacts every occurrence of a secret and of its URI-encoded form', () => {
    expect(redactSecrets('a sk/1+x b sk/1+x', ['sk/1+x'])).toBe('a [REDACTED] b [REDACTED]');
    expect(redactSecrets('key=sk%2F1%2Bx', ['sk/1+x'])).toBe('key=[REDACTED]');
    expect(redactSecrets('nothing', [''])).toBe('nothing');
  });

  it('an excerpt is one line, capped, and cannot leak half a secret at the cut', () => {
    const secret = 'sk_live_0123456789';
    const body = `${'x'.repeat(295)}${secret}\n\n tail`;
    const excerpt = bodyExcerpt(body, [secret], 300);
    expect(excerpt).not.toContain('sk_live');
    expect(excerpt.endsWith('…')).toBe(true);
    expect(excerpt).not.toContain('\n');
  });
});
