import { version } from '../../package.json';
import { redactSecrets } from '../redact';
import { parseCommand, wantsJson } from './args';
import { runEmulator } from './emulator-command';
import { EXIT_OK, EXIT_UPLOAD_FAILED, EXIT_USAGE } from './exit-codes';
import { emulatorHelp, uploadHelp } from './help';
import { installInterruptHandling } from './interrupt';
import { Output } from './output';
import { runUpload } from './upload-command';
import { UsageError } from './usage-error';

async function main(argv: string[]): Promise<number> {
  installInterruptHandling();
  const apiKey = process.env.OFAUTH_API_KEY?.trim();
  const out = new Output(process, apiKey ? [apiKey] : [], wantsJson(argv));
  try {
    const command = parseCommand(argv);
    switch (command.kind) {
      case 'help':
        process.stdout.write(command.topic === 'emulator' ? emulatorHelp(version) : uploadHelp(version));
        return EXIT_OK;
      case 'version':
        process.stdout.write(`${version}\n`);
        return EXIT_OK;
      case 'emulator':
        return await runEmulator(command.args, out);
      case 'upload':
        return await runUpload(command.args, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }, out);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      out.error(error, 'Run `ofauth-upload --help` for usage.');
      return EXIT_USAGE;
    }
    out.error(error);
    return EXIT_UPLOAD_FAILED;
  }
}

/**
 * Exit explicitly once the output is flushed: undici keeps idle sockets open for a while, and a
 * CLI that lingers seconds after printing its result looks hung.
 */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exitAfterFlush, (error: unknown) => {
  // Only a bug in the CLI itself lands here; still only the message, and still redacted.
  const message = error instanceof Error ? error.message : String(error);
  const apiKey = process.env.OFAUTH_API_KEY?.trim();
  process.stderr.write(`ofauth-upload: internal error: ${redactSecrets(message, apiKey ? [apiKey] : [])}\n`);
  exitAfterFlush(EXIT_UPLOAD_FAILED);
});
