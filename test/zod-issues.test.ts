import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { zodIssues } from '../lib/zod-issues';

describe('zodIssues', () => {
  const schema = z.object({ size: z.number(), parts: z.array(z.object({ end: z.number() })) });

  it('one line per issue, the path dotted, array indices included', () => {
    const result = schema.safeParse({ size: 'ten', parts: [{ end: 1 }, { end: 'x' }] });
    expect(result.success).toBe(false);
    const lines = zodIssues(result.error!, 'answer');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^size: .*number/);
    expect(lines[1]).toMatch(/^parts\.1\.end: /);
  });

  it('names an issue of the whole value with the given root', () => {
    const result = schema.safeParse('nope');
    expect(zodIssues(result.error!, '(body)')).toEqual([expect.stringMatching(/^\(body\): /)]);
    expect(zodIssues(result.error!, 'answer')[0]).toMatch(/^answer: /);
  });
});
