import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type MediaType } from '../../lib/emulator';
import { mediaTypeOf } from '../../lib/emulator/media-store';
import { uploadToVault } from '../../lib/index';
import { CONNECTION, data } from './helpers';

// The protocol's media kinds are photo, video, gif and audio (PROTOCOL.md, complete's answer).
const CASES: [contentType: string, type: MediaType][] = [
  ['image/gif', 'gif'],
  ['IMAGE/GIF; charset=binary', 'gif'],
  ['image/jpeg', 'photo'],
  ['image/png', 'photo'],
  ['image/webp', 'photo'],
  ['video/mp4', 'video'],
  ['video/quicktime', 'video'],
  ['audio/mpeg', 'audio'],
  ['audio/L16;rate=48000;channels=2', 'audio'],
  [' Audio/Ogg ', 'audio'],
  // No "document" kind exists: anything else is the vault's default, a video.
  ['application/octet-stream', 'video'],
  ['application/pdf', 'video'],
];

describe('media type from the content type', () => {
  it.each(CASES)('%s → %s', (contentType, type) => {
    expect(mediaTypeOf(contentType)).toBe(type);
  });

  describe('in the media the emulator answers', () => {
    let emulator: Emulator;
    beforeAll(async () => {
      emulator = await startEmulator({ partSize: 1000 });
    });
    beforeEach(() => emulator.reset());
    afterAll(() => emulator.close());

    // Both ways an upload is finalized: the single PUT (500 bytes) and complete after parts (2500).
    it.each(CASES.flatMap(([contentType, type]) => [500, 2500].map((size) => [contentType, size, type] as const)))(
      '%s, %i bytes → %s',
      async (contentType, size, type) => {
        const file = data(size, 51);
        const result = await uploadToVault(file, { baseUrl: emulator.url, apiKey: emulator.apiKey, connectionId: CONNECTION, filename: 'f', contentType, size });
        expect(result.media).toMatchObject({ type });
        expect(emulator.media(result.mediaUploadId)?.uploadType).toBe(size > 1000 ? 'multipart' : 'single');
      },
    );
  });
});
