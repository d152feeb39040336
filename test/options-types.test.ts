import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { type VaultMedia, mediaSchema } from '../lib/answers';
import {
  type CommonUploadOptions,
  type OFAuthUploadOptions,
  type ResolvedFileOptions,
  type ResolvedOptions,
  type ResumeOptions,
  type UploadFileOptions,
  type UploadSpoolOptions,
  type VaultUploadOptions,
  fileOptionsSchema,
  optionsSchema,
  resolveFileOptions,
  resolveOptions,
} from '../lib/options';
import { type MultipartPlan, type PlanByteRange, type PlanPart, multipartPlanSchema, planPartSchema } from '../lib/plan';
import type { SpoolOptions } from '../lib/sources/spool';

// The public option, plan and media types are hand-written interfaces (their TSDoc is what an
// editor shows); zod validates them. `toEqualTypeOf` is an equality, so it holds both ways: a
// field on one side only, a different type, or a different optionality (a default-bearing option
// must stay optional in the interface) fails. These checks run at type-check time
// (`npm run typecheck`, in CI), not in vitest's run.

type StreamInput = z.input<typeof optionsSchema>;
type FileInput = z.input<typeof fileOptionsSchema>;

describe('the option interfaces agree with their zod validators', () => {
  it("OFAuthUploadOptions is exactly the stream schema's input", () => {
    expectTypeOf<StreamInput>().toEqualTypeOf<OFAuthUploadOptions>();
  });

  it("UploadFileOptions is exactly uploadFile's schema's input", () => {
    expectTypeOf<FileInput>().toEqualTypeOf<UploadFileOptions>();
  });

  it('the shared fields are CommonUploadOptions, in both schemas', () => {
    expectTypeOf<Pick<StreamInput, keyof CommonUploadOptions>>().toEqualTypeOf<CommonUploadOptions>();
    expectTypeOf<Pick<FileInput, keyof CommonUploadOptions>>().toEqualTypeOf<CommonUploadOptions>();
    // And nothing else is shared: what the two add is theirs alone.
    expectTypeOf<Exclude<keyof StreamInput & keyof FileInput, keyof CommonUploadOptions>>().toEqualTypeOf<'filename' | 'contentType'>();
  });

  it('the nested option objects are their named interfaces', () => {
    expectTypeOf<NonNullable<StreamInput['vaultUpload']>>().toEqualTypeOf<VaultUploadOptions>();
    expectTypeOf<NonNullable<StreamInput['spool']>>().toEqualTypeOf<UploadSpoolOptions>();
    expectTypeOf<Exclude<NonNullable<FileInput['resume']>, boolean>>().toEqualTypeOf<ResumeOptions>();
  });

  it('the resolved options are what the code reads: defaults filled in', () => {
    expectTypeOf<ResolvedOptions['spool']>().toEqualTypeOf<SpoolOptions>();
    expectTypeOf<ResolvedOptions['concurrency']>().toEqualTypeOf<number>();
    expectTypeOf<ResolvedOptions['baseUrl']>().toEqualTypeOf<string>();
    expectTypeOf<ResolvedFileOptions['resume']>().toEqualTypeOf<boolean | ResumeOptions>();
  });

  it('UploadFileOptions can be extended by the options of other sources', () => {
    interface Extended extends UploadFileOptions {
      extra?: number;
    }
    expectTypeOf<Extended>().toExtend<UploadFileOptions>();
  });
});

describe('the plan and media interfaces agree with the schemas that validate the API', () => {
  it('PlanPart, PlanByteRange and MultipartPlan are exactly what init is parsed into', () => {
    expectTypeOf<z.output<typeof planPartSchema>>().toEqualTypeOf<PlanPart>();
    expectTypeOf<z.output<typeof planPartSchema>['byteRange']>().toEqualTypeOf<PlanByteRange>();
    expectTypeOf<z.output<typeof multipartPlanSchema>>().toEqualTypeOf<MultipartPlan>();
  });

  it('VaultMedia is exactly the media object the answers are parsed into', () => {
    expectTypeOf<z.output<typeof mediaSchema>>().toEqualTypeOf<VaultMedia>();
  });
});

/**
 * The members of `interface name` in a bundled declaration file, each with the TSDoc block
 * (`/** … *\/`) right before it, if any. rollup-plugin-dts prints one member per line, indented
 * four spaces, with its comment on the lines above.
 */
function members(dts: string, name: string): Array<{ name: string; doc: string | undefined; declaration: string }> {
  const lines = dts.split('\n');
  const start = lines.findIndex((line) => new RegExp(`^(export )?interface ${name}\\b.*\\{$`).test(line));
  if (start < 0) throw new Error(`interface ${name} is not declared in the .d.ts`);
  const found: Array<{ name: string; doc: string | undefined; declaration: string }> = [];
  for (let i = start + 1; i < lines.length && lines[i] !== '}'; i++) {
    const match = /^ {4}(\[[^\]]+\]|[A-Za-z_$][\w$]*)\??[:(]/.exec(lines[i]!);
    if (match === null) continue;
    let doc: string | undefined;
    if (lines[i - 1]!.trim().endsWith('*/')) {
      let from = i - 1;
      while (from > start && !lines[from]!.trim().startsWith('/**')) from--;
      doc = lines.slice(from, i).join('\n');
    }
    found.push({ name: match[1]!, doc, declaration: lines[i]!.trim() });
  }
  return found;
}

/** A `@defaultValue` given as a literal (a number, a string, a boolean, an object of those), evaluated. */
function documentedDefault(doc: string | undefined): { value: unknown } | undefined {
  const expression = /@defaultValue `([^`]+)`/.exec(doc ?? '')?.[1];
  if (expression === undefined || !/^(true|false|'[^']*'|[\d_ *]+|\{ \w+: [\d_ *]+ \})$/.test(expression)) return undefined;
  return { value: new Function(`return (${expression});`)() as unknown };
}

describe('the published declarations (dist/index.d.ts)', () => {
  const dist = join(__dirname, '..', 'dist');
  // Built from lib/ by the global setup before any test file runs.
  const declarations = ['index.d.ts', 'index.d.cts'].map((file) => [file, readFileSync(join(dist, file), 'utf8')] as const);

  it.each(declarations)('%s declares the public types as interfaces, none derived from zod', (_file, dts) => {
    for (const name of ['OFAuthUploadOptions', 'UploadFileOptions', 'CommonUploadOptions', 'MultipartPlan', 'PlanPart', 'VaultMedia']) {
      expect(dts).toMatch(new RegExp(`^interface ${name}\\b`, 'm'));
    }
    // Hovering an option must show its type and its TSDoc, not zod's machinery.
    expect(dts).not.toMatch(/Zod[A-Z]\w*/);
    expect(dts).not.toMatch(/\bz\.(input|output|infer)\b/);
    expect(dts).not.toMatch(/from ['"]zod['"]/);
  });

  it.each(declarations)('%s carries TSDoc on every field of the public option, event and result types', (_file, dts) => {
    const resume = members(dts, 'UploadFileOptions').find((m) => m.name === 'resume');
    expect(resume?.doc, 'UploadFileOptions.resume').toMatch(/^ {4}\/\*\*/);
    const documented = [
      'CommonUploadOptions',
      'OFAuthUploadOptions',
      'UploadFileOptions',
      'VaultUploadOptions',
      'UploadSpoolOptions',
      'ResumeOptions',
      'OFAuthUploadStreamEvents',
      'UploadResult',
      'PartReceipt',
      'UploadProgress',
      'ResumeInfo',
      'SpoolProgress',
      'RateLimitEvent',
      'RateLimitTotals',
      'RatePacerOptions',
      'PacerWait',
      'PacerClock',
      'VaultMedia',
      'MultipartPlan',
      'PlanlessSession',
      'PlanPart',
      'PlanByteRange',
    ];
    for (const name of documented) {
      const fields = members(dts, name);
      expect(fields.length, `${name} has fields`).toBeGreaterThan(0);
      expect(fields.filter((field) => field.doc === undefined).map((field) => `${name}.${field.name}`)).toEqual([]);
    }
  });

  it.each(declarations)('%s lets every optional option be given as undefined, as the validators do (exactOptionalPropertyTypes)', (_file, dts) => {
    // Under `exactOptionalPropertyTypes` (on in a `tsc --init` project), `baseUrl?: string` would
    // refuse `baseUrl: process.env.OFAUTH_BASE_URL`, which the validator takes as "not given".
    const inputs = ['CommonUploadOptions', 'OFAuthUploadOptions', 'UploadFileOptions', 'VaultUploadOptions', 'UploadSpoolOptions', 'ResumeOptions', 'RatePacerOptions'];
    const refused = inputs.flatMap((name) =>
      members(dts, name)
        .filter((field) => field.declaration.includes('?:') && !field.declaration.endsWith('| undefined;'))
        .map((field) => `${name}: ${field.declaration}`),
    );
    expect(refused).toEqual([]);
  });
});

describe('the documented defaults (`@defaultValue` in dist/index.d.ts)', () => {
  const dts = readFileSync(join(__dirname, '..', 'dist', 'index.d.ts'), 'utf8');
  const auth = { apiKey: 'k', connectionId: 'c' };
  const cases = [
    ['OFAuthUploadStream', { interfaces: ['CommonUploadOptions', 'OFAuthUploadOptions'], given: { ...auth, filename: 'a.mp4', contentType: 'video/mp4' }, resolve: resolveOptions }],
    ['uploadFile', { interfaces: ['CommonUploadOptions', 'UploadFileOptions'], given: auth, resolve: resolveFileOptions }],
  ] as const;

  it.each(cases)("are %s's defaults, and every default is documented", (_subject, { interfaces, given, resolve }) => {
    const resolved: Record<string, unknown> = resolve(given);
    const documented = Object.fromEntries(
      interfaces.flatMap((name) => members(dts, name)).flatMap((field) => {
        const value = documentedDefault(field.doc);
        return value === undefined ? [] : [[field.name, value.value]];
      }),
    );
    const filledIn = Object.fromEntries(Object.entries(resolved).filter(([key, value]) => !(key in given) && value !== undefined));
    expect(documented).toEqual(filledIn);
  });

  it("are the spool's defaults", () => {
    const spool = resolveOptions({ ...auth, filename: 'a.mp4', contentType: 'video/mp4', spool: {} }).spool;
    const memory = members(dts, 'UploadSpoolOptions').find((field) => field.name === 'memory');
    expect(documentedDefault(memory?.doc)).toEqual({ value: spool.memory });
  });
});
