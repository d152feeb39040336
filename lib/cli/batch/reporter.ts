import type { SourceItem } from '../sources/source-item';
import type { UploadEvents } from '../sources/stream-to-vault';
import type { BatchTotals, SourceOutcome } from './outcome';

/** How a run is shown: one upload the way it always was, or a batch with a line per source. */
export interface Reporter {
  begin(items: readonly SourceItem[]): void;
  /** The source is being opened; the returned events tell how its upload goes. */
  started(item: SourceItem): UploadEvents;
  finished(outcome: SourceOutcome): void;
  /** A line for the user (stderr) while uploads run: printed above the live progress, not into it. */
  notice(line: string): void;
  end(totals: BatchTotals): void;
}
