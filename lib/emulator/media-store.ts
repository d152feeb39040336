import { EmulatedSession, type SessionInit } from './session';
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

/** At most one full sweep for forgotten sessions per this many ms: a scan of every session. */
const SWEEP_EVERY_MS = 1000;

/**
 * All upload sessions of one emulator, and the vault media they became. Finalized and expired
 * sessions are forgotten `forgetAfterMs` later (see EmulatorOptions.forgetAfterMs), so a
 * long-running emulator does not grow: a looked-up session is checked on the spot, and the
 * others are swept at most once a second as requests come.
 */
export class MediaStore {
  private readonly sessions = new Map<string, EmulatedSession>();
  private mediaCounter = 0;
  private nextSweepAt = 0;

  constructor(
    private readonly mediaBaseUrl: () => string,
    private readonly limits: { forgetAfterMs: number; maxHeldParts: number } = { forgetAfterMs: Infinity, maxHeldParts: Infinity },
  ) {}

  create(init: Omit<SessionInit, 'maxHeldParts'>): EmulatedSession {
    this.sweep();
    const session = new EmulatedSession({ ...init, maxHeldParts: this.limits.maxHeldParts });
    this.sessions.set(session.id, session);
    return session;
  }

  /** A live session; a forgotten one is undefined, exactly as an id never handed out. */
  get(id: string): EmulatedSession | undefined {
    const now = Date.now();
    this.sweep(now);
    const session = this.sessions.get(id);
    if (session && this.forgettable(session, now)) {
      this.forget(session);
      return undefined;
    }
    return session;
  }

  snapshots(): StoredMedia[] {
    this.sweep(Date.now(), true);
    return [...this.sessions.values()].map((session) => session.snapshot());
  }

  private forgettable(session: EmulatedSession, now: number): boolean {
    return now >= session.forgetAtMs(this.limits.forgetAfterMs);
  }

  private forget(session: EmulatedSession): void {
    this.sessions.delete(session.id);
    session.dispose();
  }

  private sweep(now = Date.now(), force = false): void {
    if (this.limits.forgetAfterMs === Infinity || (!force && now < this.nextSweepAt)) return;
    this.nextSweepAt = now + SWEEP_EVERY_MS;
    for (const session of this.sessions.values()) if (this.forgettable(session, now)) this.forget(session);
  }

  makeMedia(session: EmulatedSession): MediaObject {
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
    this.sweep(Date.now(), true);
    const wanted = etag.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    for (const session of this.sessions.values()) {
      const finalized = session.finalized;
      if (!finalized || session.size !== size) continue;
      if ((finalized.sha256 !== undefined && finalized.sha256 === wanted) || session.compositeEtag() === wanted) return finalized.media;
    }
    return undefined;
  }

  clear(): void {
    for (const session of this.sessions.values()) session.dispose();
    this.sessions.clear();
    this.mediaCounter = 0;
  }
}
