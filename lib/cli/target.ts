import { DEFAULT_BASE_URL } from '../options';
import { UsageError } from './usage-error';

/** Where the upload goes: the real API (or any server the user names), or an emulator we start. */
export type Target =
  | { kind: 'emulator' }
  | { kind: 'api'; baseUrl: string; apiKey: string; connectionId: string };

export type Env = Record<string, string | undefined>;

function setting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * No API key means "try it out": the embedded emulator, no account, no network. A key means a
 * real upload, to OFAUTH_BASE_URL or the production API. A base URL without a key is refused
 * rather than silently ignored, since the user clearly meant some server.
 */
export function resolveTarget(env: Env): Target {
  const apiKey = setting(env, 'OFAUTH_API_KEY');
  const baseUrl = setting(env, 'OFAUTH_BASE_URL');
  if (apiKey === undefined) {
    if (baseUrl !== undefined) {
      throw new UsageError('OFAUTH_BASE_URL is set but OFAUTH_API_KEY is not: set both, or neither to use the embedded emulator');
    }
    return { kind: 'emulator' };
  }
  const connectionId = setting(env, 'OFAUTH_CONNECTION_ID');
  if (connectionId === undefined) throw new UsageError('OFAUTH_API_KEY is set but OFAUTH_CONNECTION_ID is not');
  const url = baseUrl ?? DEFAULT_BASE_URL;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new UsageError(`OFAUTH_BASE_URL must be an http(s) URL such as ${DEFAULT_BASE_URL}, got ${JSON.stringify(url.slice(0, 100))}`);
  }
  return { kind: 'api', baseUrl: url, apiKey, connectionId };
}
