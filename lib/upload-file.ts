import { realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { contentTypeFor } from './media-types';
import { type UploadFileOptions, resolveFileOptions } from './options';
import { uploadPulled, withUploadSignal } from './pulled-upload';
import { FileSource } from './sources/file-source';
import type { UploadResult } from './upload-sink';

/**
 * Uploads the file at `path` and resolves once the vault has it. The size comes from the opened
 * file (`fstat`) and parts are read in place at their offsets, so every part, and a plan-less
 * upload's one PUT, is retried by reading again, whatever the size. A file that changes while it
 * is uploaded (size or mtime) fails with SourceChangedError and is never finalized. With
 * `resume`, a journal beside an exclusive lock lets a later call for the same unchanged file
 * send only the parts the vault has not acknowledged.
 */
export async function uploadFile(path: string, options: UploadFileOptions): Promise<UploadResult> {
  const resolved = resolveFileOptions(options);
  return withUploadSignal(resolved.signal, async (signal, fail) => {
    const source = await FileSource.open(path);
    try {
      const filename = resolved.filename ?? basename(path);
      return await uploadPulled(
        {
          options: resolved,
          source,
          filename,
          contentType: resolved.contentType ?? contentTypeFor(filename),
          key: async () => ({ location: await realpath(path), version: source.identity.mtimeNs }),
          caller: 'uploadFile',
        },
        signal,
        fail,
      );
    } finally {
      await source.close();
    }
  });
}
