import type { Output, OutputStreams } from '../output';
import { ProgressRenderer } from '../progress-renderer';
import type { SourceItem } from '../sources/source-item';
import type { UploadEvents } from '../sources/stream-to-vault';
import { resumeNotice } from '../resume-notice';
import { formatSummary } from '../summary';
import { formatBytes } from '../units';
import type { SourceOutcome } from './outcome';
import { cancellation, outcomeRecord } from './records';
import type { Reporter } from './reporter';

/**
 * One source named alone (a file, -, a URL, an object, --sample): the output it always had, a
 * live bar, then the result block (or one JSON line), and errors as one `ofauth-upload:` line.
 */
export class SingleReporter implements Reporter {
  readonly #out: Output;
  readonly #renderer: ProgressRenderer;
  #started = false;

  constructor(out: Output, streams: OutputStreams, quiet: boolean) {
    this.#out = out;
    this.#renderer = new ProgressRenderer({ mode: quiet ? 'off' : streams.stderr.isTTY ? 'bar' : 'lines', out: streams.stderr });
  }

  begin(): void {}

  started(_item: SourceItem): UploadEvents {
    const renderer = this.#renderer;
    return {
      opened: (_filename, size) => {
        this.#started = true;
        renderer.start(size);
      },
      spooled: (bytes) => renderer.spooled(bytes),
      uploading: (total) => renderer.beginUpload(total),
      progress: (p) => renderer.update(p),
      session: () => undefined,
      resumed: (info) => {
        renderer.resumedFrom(info.bytesDone);
        this.#out.notice(renderer.clearLine() + resumeNotice(info));
      },
      rateLimited: (event) => renderer.rateLimited(event.waitMs),
    };
  }

  finished(outcome: SourceOutcome): void {
    const { source } = outcome.item;
    switch (outcome.type) {
      case 'uploaded':
        this.#renderer.finish();
        this.#out.result(formatSummary(outcome.summary), outcomeRecord(outcome));
        return;
      case 'skipped': {
        const { entry } = outcome;
        this.#out.result(`Skipped ${source}: already uploaded, unchanged since (manifest: mediaUploadId ${entry.mediaUploadId}, ${formatBytes(entry.size)})\n`, outcomeRecord(outcome));
        return;
      }
      case 'failed': {
        if (this.#started) this.#renderer.abandon();
        const id = outcome.mediaUploadId;
        this.#out.error(outcome.error, undefined, id === undefined ? {} : { mediaUploadId: id }, { type: 'failed', source });
        return;
      }
      case 'cancelled': {
        if (this.#started) this.#renderer.abandon();
        const id = outcome.mediaUploadId;
        this.#out.error(cancellation(id, outcome.resumable, outcome.stage), undefined, id === undefined ? {} : { mediaUploadId: id }, { type: 'cancelled', source });
        return;
      }
    }
  }

  notice(line: string): void {
    this.#out.notice(this.#renderer.clearLine() + line);
  }

  end(): void {}
}
