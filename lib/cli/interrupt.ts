import { EXIT_INTERRUPTED } from './exit-codes';

/**
 * First Ctrl-C: run `onFirst` (abort the upload and let it wind down). A second one means the
 * user will not wait for that, so exit at once. Returns the remover, to call once settled.
 */
export function onInterrupt(onFirst: () => void, exit: (code: number) => void = process.exit): () => void {
  let seen = 0;
  const listener = (): void => {
    seen++;
    if (seen === 1) onFirst();
    else exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}
