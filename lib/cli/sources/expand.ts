import { resolve } from 'node:path';
import type { SourceSpec, UploadArgs } from '../args';
import { UsageError } from '../usage-error';
import { expandPath } from './local-paths';
import { s3Source } from './s3';
import { type S3Access, s3Failure } from './s3-client';
import type { SourceItem } from './source-item';
import { stdinSize } from './stdin';
import { displayUrl } from '../../sources/http-range-source';

export interface Expansion {
  items: SourceItem[];
  /** One SOURCE naming one upload (a file, -, a URL, an object, --sample): the one-upload output. */
  single: boolean;
  notices: string[];
}

/** The manifest's name for a source: a file's absolute path (so a re-run from elsewhere matches), else what the output shows. */
export function manifestKey(item: SourceItem): string {
  return item.kind === 'file' ? resolve(item.path) : item.source;
}

async function expandPrefix(spec: Extract<SourceSpec, { kind: 's3' }>, s3: S3Access, signal: AbortSignal): Promise<{ items: SourceItem[]; notices: string[] }> {
  const items: SourceItem[] = [];
  const prefixSource = s3Source(spec.bucket, spec.key);
  try {
    for await (const object of s3.list(spec.bucket, spec.key, signal)) {
      // "Folder" markers: zero-byte keys ending in '/' that consoles create.
      if (object.key.endsWith('/')) continue;
      items.push({
        kind: 's3',
        source: s3Source(spec.bucket, object.key),
        bucket: spec.bucket,
        key: object.key,
        listed: { size: object.size, ...(object.etag === undefined ? {} : { etag: object.etag }) },
      });
    }
  } catch (error) {
    if (signal.aborted) throw error;
    return { items: [{ kind: 'unavailable', source: prefixSource, error: s3Failure(prefixSource, 'ListObjectsV2', error) }], notices: [] };
  }
  return { items, notices: items.length === 0 ? [`${prefixSource}: no objects under this prefix`] : [] };
}

/**
 * Turns the command line's SOURCEs into the uploads to do, in order, each once. Everything that
 * can be judged before a byte is sent is judged here (missing paths, an empty file, a --size that
 * contradicts, a terminal on stdin, the S3 package): those are usage errors, exit 2. S3 prefixes
 * are listed here too; a listing that fails is that SOURCE's failure, not the batch's.
 */
export async function expandSources(
  args: UploadArgs,
  stdin: NodeJS.ReadStream,
  s3: () => Promise<S3Access>,
  signal: AbortSignal,
): Promise<Expansion> {
  const items: SourceItem[] = [];
  const notices: string[] = [];
  let containers = 0;
  for (const spec of args.sources) {
    switch (spec.kind) {
      case 'path': {
        const found = await expandPath(spec.path, args.recursive, args.size);
        items.push(...found.items);
        notices.push(...found.notices);
        if (found.folder) containers++;
        break;
      }
      case 'stdin': {
        const size = stdinSize(stdin, args.size);
        items.push({ kind: 'stdin', source: '-', ...(size === undefined ? {} : { size }) });
        break;
      }
      case 'sample':
        items.push({ kind: 'sample', source: `--sample ${spec.label}`, size: spec.size, label: spec.label });
        break;
      case 'url':
        items.push({ kind: 'url', source: displayUrl(spec.url), url: spec.url });
        break;
      case 's3': {
        const access = await s3();
        if (spec.key === '' || spec.key.endsWith('/')) {
          containers++;
          const found = await expandPrefix(spec, access, signal);
          items.push(...found.items);
          notices.push(...found.notices);
        } else {
          items.push({ kind: 's3', source: s3Source(spec.bucket, spec.key), bucket: spec.bucket, key: spec.key });
        }
        break;
      }
    }
  }
  // A file named twice, or named and inside a named folder, is uploaded once.
  const seen = new Set<string>();
  const unique = items.filter((item) => {
    if (item.kind === 'stdin' || item.kind === 'sample' || item.kind === 'unavailable') return true;
    const key = manifestKey(item);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (unique.length === 0) throw new UsageError(`nothing to upload${notices.length > 0 ? ` (${notices.join('; ')})` : ''}`);
  const single = args.sources.length === 1 && containers === 0 && unique.length === 1;
  if (args.filename !== undefined && !single) throw new UsageError(`--filename names one source; ${args.sources[0]?.kind === 'path' ? 'the folder' : 'the prefix'} holds ${unique.length}`);
  return { items: unique, single, notices };
}
