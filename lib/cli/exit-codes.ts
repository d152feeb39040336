// The CLI's contract with shells and CI scripts; documented in --help and the README.
export const EXIT_OK = 0;
/** The upload failed (any typed error, or a sha256 mismatch against the emulator). */
export const EXIT_UPLOAD_FAILED = 1;
/** Bad flags, arguments or environment: nothing was sent. */
export const EXIT_USAGE = 2;
/** Interrupted by SIGINT (Ctrl-C): 128 + signal 2, as shells report it. */
export const EXIT_INTERRUPTED = 130;
