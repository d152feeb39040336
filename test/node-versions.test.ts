import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The supported Node versions are said in three places: package.json's engines, the README's
// table, and the versions .ci/run pins and tests. They must agree.

const root = join(__dirname, '..');
const engines = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const ciRun = readFileSync(join(root, '.ci', 'run'), 'utf8');
const pinned = /^PINNED=\(([^)]*)\)$/m.exec(ciRun)?.[1]?.trim().split(/\s+/) ?? [];

type Version = [number, number, number];
const parse = (v: string): Version => v.replace(/^v/, '').split('.').map(Number) as Version;
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The two comparator forms engines uses: `^X.Y.Z` (same major, at least X.Y.Z) and `>=X.Y.Z`. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((part) => {
    const m = /^\s*(\^|>=)(\d+\.\d+\.\d+)\s*$/.exec(part);
    if (!m) throw new Error(`engines form not understood: ${part}`);
    const min = parse(m[2]!);
    return compare(v, min) >= 0 && (m[1] === '>=' || v[0] === min[0]);
  });
}

describe('supported Node versions', () => {
  it('CI pins exact Node 22 and 24 versions', () => {
    expect(pinned.map((v) => parse(v)[0])).toEqual([22, 24]);
    for (const v of pinned) expect(v).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('engines admits every version CI tests, this one included, and no odd-numbered major', () => {
    for (const v of [...pinned, process.version]) expect(satisfies(v, engines), v).toBe(true);
    for (const v of ['21.7.3', '23.11.1', '20.18.0', '18.20.8']) expect(satisfies(v, engines), v).toBe(false);
  });

  it('the README states the same engines range and marks each pinned version as tested', () => {
    expect(readme).toContain(`\`engines\` says the same: \`${engines}\``);
    for (const v of pinned) expect(readme).toMatch(new RegExp(`^\\| ${parse(v)[0]} \\| supported \\| yes, ${v.replace(/\./g, '\\.')} \\|$`, 'm'));
  });
});
