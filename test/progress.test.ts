import { describe, expect, it } from 'vitest';
import type { UploadProgress } from '../lib/options';
import { ProgressTracker } from '../lib/progress';

describe('ProgressTracker', () => {
  it('counts each byte once: a retried part reports nothing until it passes its earlier attempt', () => {
    const events: UploadProgress[] = [];
    const tracker = new ProgressTracker(300, 3, (p) => events.push(p));
    tracker.sent(1, 60);
    tracker.sent(2, 50);
    tracker.sent(1, 30); // part 1 retried from the start
    tracker.sent(1, 60); // back where it was: nothing new
    tracker.sent(1, 90);
    tracker.partDone(1, 100);
    tracker.partDone(2, 100);
    tracker.sent(2, 100); // late report for a finished part
    expect(events.map((e) => e.bytesUploaded)).toEqual([60, 110, 140, 150, 200]);
    expect(events.at(-1)).toEqual({ bytesUploaded: 200, totalBytes: 300, partsCompleted: 2, totalParts: 3 });
  });
});
