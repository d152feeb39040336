import mime from 'mime';
import { describe, expect, it } from 'vitest';
import { FALLBACK_CONTENT_TYPE, contentTypeFor, knownExtensions } from '../lib/media-types';

describe('contentTypeFor: the library’s own table, held to the mime package the CLI bundles', () => {
  it.each(knownExtensions())('.%s is what mime says', (extension) => {
    expect(contentTypeFor(`clip.${extension}`)).toBe(mime.getType(`clip.${extension}`));
  });

  it('covers the common media of each kind', () => {
    expect(knownExtensions()).toEqual(expect.arrayContaining(['jpg', 'png', 'gif', 'webp', 'heic', 'mp4', 'mov', 'webm', 'mkv', 'mp3', 'm4a', 'wav']));
  });

  it('matches the extension case-insensitively, and falls back to application/octet-stream', () => {
    expect(contentTypeFor('CLIP.MP4')).toBe('video/mp4');
    expect(contentTypeFor('/some/dir.mp4/file')).toBe(FALLBACK_CONTENT_TYPE);
    expect(contentTypeFor('notes.txt')).toBe(FALLBACK_CONTENT_TYPE);
    expect(contentTypeFor('.mp4')).toBe(FALLBACK_CONTENT_TYPE);
    expect(contentTypeFor('constructor.constructor')).toBe(FALLBACK_CONTENT_TYPE);
  });
});
