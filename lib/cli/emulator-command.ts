import { startEmulator } from '../emulator/index';
import type { EmulatorArgs } from './args';
import { EXIT_OK } from './exit-codes';
import { onInterrupt } from './interrupt';
import type { Output } from './output';
import { UsageError } from './usage-error';

/** Resolves once a stop signal arrives; SIGTERM too, since that is how scripts and CI stop a server. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      removeInterrupt();
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onTerm = (): void => stop('SIGTERM');
    // Ctrl-C goes through the CLI's one SIGINT handler (a second Ctrl-C still exits at once).
    const removeInterrupt = onInterrupt(() => stop('SIGINT'));
    process.on('SIGTERM', onTerm);
  });
}

/**
 * The emulator in the foreground, for people testing from other languages. Stopping it is the
 * normal end of its life, so a Ctrl-C here exits 0.
 */
export async function runEmulator(args: EmulatorArgs, out: Output): Promise<number> {
  const stopped = stopSignal();
  const emulator = await startEmulator({
    host: '127.0.0.1',
    port: args.port,
    ...(args.partSize === undefined ? {} : { partSize: args.partSize }),
    ...(args.rateLimit === undefined ? {} : { rateLimit: args.rateLimit }),
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UsageError(`port ${args.port} is already in use`);
    throw error;
  });
  out.result(
    [
      `OFAuth upload emulator listening on ${emulator.url}`,
      `  test API key    ${emulator.apiKey}  (header apiKey; any non-empty x-connection-id is accepted)`,
      ...(args.rateLimit === undefined ? [] : [`  rate limit      ${args.rateLimit.perMinute} requests/min per connection id, burst ${args.rateLimit.burst} (429 when the bucket is empty)`]),
      `  try             OFAUTH_BASE_URL=${emulator.url} OFAUTH_API_KEY=${emulator.apiKey} OFAUTH_CONNECTION_ID=test ofauth-upload <file>`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
    { url: emulator.url, apiKey: emulator.apiKey },
  );
  await stopped;
  const { initCalls, partPuts, singlePuts, completeCalls, rateLimited } = emulator.stats;
  const refused = args.rateLimit === undefined ? '' : `, ${rateLimited} refused by the rate limit`;
  out.notice(`Stopping: ${initCalls} init, ${partPuts} part PUTs, ${singlePuts} single PUTs, ${completeCalls} complete calls served${refused}.`);
  await emulator.close();
  return EXIT_OK;
}
