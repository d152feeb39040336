import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the running CLI is installed: in npm's global folder, in a project, or not known. */
export type InstallKind = 'global' | 'local' | 'unknown';

/**
 * Whether `file` lies inside `globalRoot` (`npm root -g`, e.g. /usr/lib/node_modules), both
 * with symlinks resolved: the node_modules npm installs `-g` packages into, whatever the prefix
 * (nvm, Homebrew, a `prefix` in .npmrc, Windows' %APPDATA%\npm).
 */
export function installKind(file: string, globalRoot: string | undefined): InstallKind {
  if (globalRoot === undefined) return 'unknown';
  const path = relative(real(globalRoot), real(file));
  return path !== '' && !path.startsWith('..') && !isAbsolute(path) ? 'global' : 'local';
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** `npm root -g`, or undefined when npm cannot say (not on PATH, a timeout). */
export function npmGlobalRoot(timeoutMs = 10_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    // npm is a .cmd on Windows, which only a shell runs.
    execFile('npm', ['root', '-g'], { timeout: timeoutMs, shell: process.platform === 'win32', windowsHide: true }, (error, stdout) => {
      const root = String(stdout).trim();
      resolve(error === null && root !== '' ? root : undefined);
    });
  });
}

/**
 * How this CLI was installed, for advice on installing a package beside it. npm itself is asked
 * where its global packages live (`npm root -g`, which knows the prefix from every npmrc and the
 * environment) and this file's real path is compared with it: a guess from the path's shape (a
 * `lib/node_modules`, no package.json above) would be wrong for custom prefixes and for projects
 * laid out that way. Run only on an error path: the spawn costs a few hundred ms.
 */
export async function detectInstall(moduleUrl: string = import.meta.url): Promise<InstallKind> {
  return installKind(fileURLToPath(moduleUrl), await npmGlobalRoot());
}
