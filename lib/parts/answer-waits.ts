/**
 * Below this, an answer that follows a sent body is the server's own work on a near link:
 * holding the slot through it costs a few percent at most, and a request more would cost a
 * connection for nothing. From here on it is a round trip the link idles through.
 */
export const LONG_ANSWER_WAIT_MS = 50;

/** Answers seen before the uploader trusts what they say about the link. */
export const ANSWER_WAITS_NEEDED = 3;

/**
 * The time between a part's last body byte being taken by the socket and its answer arriving.
 * On a far link that time is a round trip during which the part's connection sends nothing; the
 * uploader lets one more part start in it when the link is far: init was slow too (see the
 * constructor), and the answers say so. What they say is the smallest wait of the upload,
 * not the latest: a slow server, a part held back behind another, a busy machine only ever add
 * to the round trip (as TCP estimates a path's delay from its smallest RTT sample), so one quick
 * answer proves the link near for the rest of the upload.
 */
export class AnswerWaits {
  readonly #initMs: number | undefined;
  #count = 0;
  #smallest = Number.POSITIVE_INFINITY;

  /**
   * `initMs`: how long the upload's init took, if known. A body counts as sent once the socket
   * took it, and on a slow uplink its last MiB still drain from the kernel's buffers long after:
   * answers then come late on a near path too. Init carries no body, so a quick init proves the
   * path near however late the answers; the parts are then left to fill the line as they are.
   */
  constructor(initMs?: number) {
    this.#initMs = initMs;
  }

  record(ms: number): void {
    this.#count++;
    this.#smallest = Math.min(this.#smallest, ms);
  }

  get long(): boolean {
    if (this.#initMs !== undefined && this.#initMs < LONG_ANSWER_WAIT_MS) return false;
    return this.#count >= ANSWER_WAITS_NEEDED && this.#smallest >= LONG_ANSWER_WAIT_MS;
  }
}
