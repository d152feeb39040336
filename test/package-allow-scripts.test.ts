// Issue 26, item 10: npm 11 warns at install about dependencies whose install scripts
// package.json's `allowScripts` does not cover. Every package the lockfile marks as having install
// scripts (the @ffmpeg-installer binary of each platform, esbuild) is declared, so a fresh clone
// installs without that warning on any platform, and its scripts still run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean; name?: string }>;
};

describe('package.json allowScripts', () => {
  it('allows the install scripts of every locked package that has them, by name', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
      .map(([path, entry]) => entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts).toContain('esbuild');
    expect(withScripts).toContain('@ffmpeg-installer/linux-x64');
    for (const name of withScripts) expect(pkg.allowScripts?.[name], name).toBe(true);
  });

  it('allows nothing else: every entry names a locked package with install scripts', () => {
    const names = new Set(Object.entries(lock.packages).filter(([, e]) => e.hasInstallScript === true).map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)));
    expect(Object.keys(pkg.allowScripts ?? {}).filter((name) => !names.has(name))).toEqual([]);
  });
});
