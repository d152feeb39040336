import { EXIT_INTERRUPTED } from './exit-codes';

let firstHandler: (() => void) | undefined;
let seen = 0;
let installed = false;

/**
 * Installed first thing in main, so a Ctrl-C that lands before an upload is under way still
 * exits with 130 rather than being killed by the signal. With an upload running, the first
 * Ctrl-C runs its handler (abort and wind down); a second means the user will not wait.
 */
export function installInterruptHandling(exit: (code: number) => void = process.exit): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', () => {
    seen++;
    if (seen === 1 && firstHandler !== undefined) firstHandler();
    else exit(EXIT_INTERRUPTED);
  });
}

/** While the returned remover has not run, the first Ctrl-C calls `onFirst` instead of exiting. */
export function onInterrupt(onFirst: () => void): () => void {
  firstHandler = onFirst;
  return () => {
    if (firstHandler === onFirst) firstHandler = undefined;
  };
}
