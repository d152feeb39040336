import type { z } from 'zod';

/** One line per issue, 'path: message', for 400 bodies a human can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}
