import { redactSecrets } from '../redact';
import { type ErrorRecord, describeError } from './describe-error';

export interface OutputStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/**
 * The only way the CLI writes text. Results go to stdout (one JSON line with --json), notices and
 * errors to stderr, and every string passes through redaction of the API key on its way out:
 * errors are built not to carry it, and this makes sure of it.
 */
export class Output {
  readonly #streams: OutputStreams;
  readonly #secrets: readonly string[];
  readonly json: boolean;
  quiet = false;

  constructor(streams: OutputStreams, secrets: readonly string[], json: boolean) {
    this.#streams = streams;
    this.#secrets = secrets;
    this.json = json;
  }

  #clean(text: string): string {
    return redactSecrets(text, this.#secrets);
  }

  /** A line for the person at the terminal; silent with --quiet. */
  notice(line: string): void {
    if (!this.quiet) this.#streams.stderr.write(`${this.#clean(line)}\n`);
  }

  /** The command's answer: human text, or one JSON line with --json. */
  result(human: string, record: object): void {
    this.#streams.stdout.write(this.#clean(this.json ? `${JSON.stringify(record)}\n` : human));
  }

  /** A line saying what went wrong with one source (stderr); printed even with --quiet. */
  problem(line: string): void {
    this.#streams.stderr.write(`${this.#clean(line)}\n`);
  }

  /**
   * `fields` add facts the error itself does not carry (e.g. the upload a Ctrl-C left behind);
   * `line` adds fields to the JSON line itself (which source failed, and how).
   */
  error(error: unknown, hint?: string, fields: Record<string, string> = {}, line: Record<string, unknown> = {}): ErrorRecord {
    const record = { ...describeError(error), ...fields };
    if (this.json) {
      this.#streams.stdout.write(`${this.#clean(JSON.stringify({ ...line, ok: false, error: record }))}\n`);
    } else {
      this.#streams.stderr.write(`${this.#clean(`ofauth-upload: ${record.code}: ${record.message}`.replace(/\s*\n\s*/g, ' '))}\n`);
      if (hint !== undefined) this.#streams.stderr.write(`${hint}\n`);
    }
    return record;
  }
}
