/** The command line or the environment cannot describe an upload: exit 2, nothing was sent. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
