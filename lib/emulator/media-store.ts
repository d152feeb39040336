import { UploadSession, type SessionInit } from './session';
import type { MediaObject, MediaType, StoredMedia } from './types';

// Vault media ids are numeric strings on the real API; start high so they never look like counts.
const FIRST_MEDIA_ID = 4_000_000_001;

/**
 * The vault media kind the real API reports, from the upload's content type (case and parameters
 * ignored). The protocol knows four kinds only, photo, video, gif and audio, with no "document":
 * video/* and any other type are a video, the vault's default kind.
 */
export function mediaTypeOf(contentType: string): MediaType {
  const type = contentType.toLowerCase().split(';')[0]?.trim() ?? '';
  if (type === 'image/gif') return 'gif';
  if (type.startsWith('image/')) return 'photo';
  if (type.startsWith('audio/')) return 'audio';
  return 'video';
}

/** All upload sessions of one emulator, and the vault media they became. */
export class MediaStore {
  private readonly sessions = new Map<string, UploadSession>();
  private mediaCounter = 0;

  constructor(private readonly mediaBaseUrl: () => string) {}

  create(init: SessionInit): UploadSession {
    const session = new UploadSession(init);
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string): UploadSession | undefined {
    return this.sessions.get(id);
  }

  snapshots(): StoredMedia[] {
    return [...this.sessions.values()].map((session) => session.snapshot());
  }

  makeMedia(session: UploadSession): MediaObject {
    const id = String(FIRST_MEDIA_ID + this.mediaCounter);
    this.mediaCounter += 1;
    return {
      id,
      type: mediaTypeOf(session.contentType),
      isReady: true,
      hasError: false,
      createdAt: new Date().toISOString(),
      files: { full: { url: `${this.mediaBaseUrl()}/media/${id}`, size: session.size } },
    };
  }

  /** A finalized media of this size whose sha256 (or composite multipart etag) is `etag`. */
  findExisting(etag: string, size: number): MediaObject | undefined {
    const wanted = etag.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    for (const session of this.sessions.values()) {
      const finalized = session.finalized;
      if (!finalized || session.size !== size) continue;
      if ((finalized.sha256 !== undefined && finalized.sha256 === wanted) || session.compositeEtag() === wanted) return finalized.media;
    }
    return undefined;
  }

  clear(): void {
    this.sessions.clear();
    this.mediaCounter = 0;
  }
}
