import type { z } from 'zod';

/**
 * One line per issue, `path: message`, the path dotted (`parts.1.byteRange.start`); `root` names
 * an issue of the whole value. Shared by every place that turns a schema failure into words (the
 * library's plan check, the emulator's 400 answers), so they read alike. Not z.prettifyError: its
 * multi-line `✖ … → at …` layout does not fit a one-line error message or JSON `error`.
 */
export function zodIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join('.') : root}: ${issue.message}`);
}
