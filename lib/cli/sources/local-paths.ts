import { constants, type Stats } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../usage-error';
import type { SourceItem } from './source-item';

type FileItem = Extract<SourceItem, { kind: 'file' }>;

export interface PathExpansion {
  items: FileItem[];
  /** The path was a folder (so the output is a batch's, even for one file). */
  folder: boolean;
  notices: string[];
}

function fsProblem(path: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ELOOP' ? 'too many symbolic links' : (error as Error).message;
  return new UsageError(`cannot read ${JSON.stringify(path)}: ${reason}`);
}

function fileItem(path: string, stats: Stats): FileItem {
  return { kind: 'file', source: path, path, stats: { size: stats.size, mtimeMs: stats.mtimeMs } };
}

/**
 * A folder's files in name order (stable from run to run): hidden entries (a leading dot) are
 * skipped, subfolders only followed with `recursive`, each folder once (a symbolic link back up
 * the tree does not loop). Entries that are neither files nor folders (sockets, pipes) are left.
 */
async function walk(dir: string, recursive: boolean, seen: Set<string>, out: FileItem[], skippedFolders: string[]): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => !name.startsWith('.')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (error) {
    throw fsProblem(dir, error);
  }
  for (const name of names) {
    const path = join(dir, name);
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch {
      // A dangling link, or an entry gone since the listing: nothing to upload there.
      continue;
    }
    if (stats.isFile()) out.push(fileItem(path, stats));
    else if (stats.isDirectory()) {
      if (!recursive) skippedFolders.push(path);
      else if (!seen.has(`${stats.dev}:${stats.ino}`)) {
        seen.add(`${stats.dev}:${stats.ino}`);
        await walk(path, recursive, seen, out, skippedFolders);
      }
    }
  }
}

/**
 * A path SOURCE, checked before anything is sent: a missing or unreadable path is a usage error,
 * as is an empty file named on the command line, or a --size that contradicts the file.
 */
export async function expandPath(path: string, recursive: boolean, declaredSize: number | undefined): Promise<PathExpansion> {
  let stats: Stats;
  try {
    stats = await stat(path);
    await access(path, constants.R_OK);
  } catch (error) {
    throw fsProblem(path, error);
  }
  if (stats.isDirectory()) {
    if (declaredSize !== undefined) throw new UsageError(`--size applies to one file or pipe; ${JSON.stringify(path)} is a folder`);
    const items: FileItem[] = [];
    const skippedFolders: string[] = [];
    await walk(path, recursive, new Set([`${stats.dev}:${stats.ino}`]), items, skippedFolders);
    const notices: string[] = [];
    if (skippedFolders.length > 0) {
      notices.push(`${path}: ${skippedFolders.length} subfolder${skippedFolders.length === 1 ? '' : 's'} not uploaded (-r uploads subfolders too)`);
    }
    if (items.length === 0) notices.push(`${path}: no files to upload`);
    return { items, folder: true, notices };
  }
  if (stats.isFile()) {
    if (declaredSize !== undefined && declaredSize !== stats.size) {
      throw new UsageError(`--size ${declaredSize} does not match the size of ${JSON.stringify(path)} (${stats.size} bytes)`);
    }
    if (stats.size === 0) throw new UsageError(`${JSON.stringify(path)} is empty: the API needs at least one byte`);
    return { items: [fileItem(path, stats)], folder: false, notices: [] };
  }
  // A pipe or device (e.g. bash's <(…)) has no size to stat: like stdin, it is spooled unless
  // --size says how long it is.
  return {
    items: [{ kind: 'file', source: path, path, ...(declaredSize === undefined ? {} : { declaredSize }) }],
    folder: false,
    notices: [],
  };
}
