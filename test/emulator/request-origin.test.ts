import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../lib/emulator';
import { parseHost } from '../../lib/emulator/request-origin';
import { uploadToVault } from '../../lib/index';
import { CONNECTION, auth, data, post, sha256 } from './helpers';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: EmulatorOptions): Promise<Emulator> {
  emulator = await startEmulator({ partSize: 1000, ...options });
  return emulator;
}

const portOf = (url: string): string => new URL(url).port;

/** One raw HTTP exchange, so the Host header can be missing or anything at all. */
function raw(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(head);
  });
}

function upload(emu: Emulator, baseUrl: string, file: Buffer) {
  return uploadToVault(file, {
    baseUrl,
    apiKey: emu.apiKey,
    connectionId: CONNECTION,
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    size: file.length,
    retries: 0,
  });
}

describe('plans follow the origin the request came in on (Host header)', () => {
  it('a client on http://localhost:PORT uploads to an emulator started on 127.0.0.1, sha256 intact', async () => {
    const emu = await start({ host: '127.0.0.1' });
    const localhost = `http://localhost:${portOf(emu.url)}`;
    const file = data(3500, 31);
    const result = await upload(emu, localhost, file);
    expect(result.parts).toHaveLength(4);
    expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(file));
    // The plan itself names localhost: ask for one directly.
    const plan = (await post(`${localhost}/v2/access/uploads/init`, { filename: 'a.mp4', size: 2500, contentType: 'video/mp4' }, auth(emu))).json as {
      completeUrl: string;
      parts: { uploadUrl: string }[];
    };
    expect(plan.completeUrl).toBe(`${localhost}/v2/access/uploads/complete`);
    for (const part of plan.parts) expect(new URL(part.uploadUrl).origin).toBe(localhost);
  });

  it('an emulator bound on 0.0.0.0 serves clients on 127.0.0.1 and on localhost, each with its own origin', async () => {
    const emu = await start({ host: '0.0.0.0' });
    const port = portOf(emu.url);
    for (const base of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const file = data(2100, 32);
      const result = await upload(emu, base, file);
      expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(file));
      const plan = (await post(`${base}/v2/access/uploads/init`, { filename: 'a.mp4', size: 1, contentType: 'video/mp4' }, auth(emu))).json as {
        parts: { uploadUrl: string }[];
      };
      expect(new URL(plan.parts[0]?.uploadUrl ?? '').origin).toBe(base);
    }
  });

  it('a single plan (one part) also points at the request origin', async () => {
    const emu = await start({});
    const localhost = `http://localhost:${portOf(emu.url)}`;
    const file = data(700, 33);
    const result = await upload(emu, localhost, file);
    expect(emu.media(result.mediaUploadId)).toMatchObject({ uploadType: 'single', sha256: sha256(file) });
  });

  it('foreign-origin mode: parts go to the part server under the host name the client used', async () => {
    const emu = await start({ foreignOrigin: true });
    const localhost = `http://localhost:${portOf(emu.url)}`;
    const plan = (await post(`${localhost}/v2/access/uploads/init`, { filename: 'a.mp4', size: 2500, contentType: 'video/mp4' }, auth(emu))).json as {
      completeUrl: string;
      parts: { uploadUrl: string }[];
    };
    expect(plan.completeUrl).toBe(`${localhost}/v2/access/uploads/complete`);
    for (const part of plan.parts) expect(new URL(part.uploadUrl).origin).toBe(`http://localhost:${portOf(emu.foreignUrl ?? '')}`);

    const file = data(3500, 34);
    const result = await upload(emu, localhost, file);
    expect(emu.media(result.mediaUploadId)?.sha256).toBe(sha256(file));
    expect(emu.requests.filter((r) => r.server === 'foreign' && r.status === 200)).toHaveLength(4);
    expect(emu.stats.authViolations).toBe(0);
  });

  it('answers 400 to a missing or malformed Host header, and opens no session', async () => {
    const emu = await start({});
    const port = Number(portOf(emu.url));
    const body = JSON.stringify({ filename: 'a.mp4', size: 10, contentType: 'video/mp4' });
    const request = (hostLine: string, version = '1.1') =>
      `POST /v2/access/uploads/init HTTP/${version}\r\n${hostLine}apiKey: ${emu.apiKey}\r\nx-connection-id: ${CONNECTION}\r\n` +
      `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
    // HTTP/1.0 may omit Host and Node lets it through: the emulator must still refuse it.
    const missing = await raw(port, request('', '1.0'));
    expect(missing).toMatch(/^HTTP\/1\.[01] 400 /);
    for (const host of ['evil.example/path', 'user@localhost', 'local host', `localhost:${port}:1`, 'localhost:99999', 'localhost:0', 'localhost:', '[::1']) {
      const answer = await raw(port, request(`Host: ${host}\r\n`));
      expect(answer, host).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(emu.uploads()).toEqual([]);
    // Every route, not only init: complete of an unknown id would otherwise be a 404.
    const completeBody = JSON.stringify({ mediaUploadId: 'upload:x' });
    const completeAnswer = await raw(
      port,
      `POST /v2/access/uploads/complete HTTP/1.1\r\nHost: a b\r\napiKey: ${emu.apiKey}\r\nx-connection-id: ${CONNECTION}\r\n` +
        `content-type: application/json\r\ncontent-length: ${completeBody.length}\r\nconnection: close\r\n\r\n${completeBody}`,
    );
    expect(completeAnswer).toMatch(/^HTTP\/1\.1 400 /);
    // A well-formed Host on the same raw path is answered normally.
    expect(await raw(port, request(`Host: localhost:${port}\r\n`))).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('parseHost', () => {
  it.each(['localhost', 'localhost:8787', '127.0.0.1:1', '[::1]:8787', 'emulator_1:80', 'api.example.com', 'EXAMPLE.com:443'])('accepts %s', (host) => {
    expect(parseHost(host)).toBeInstanceOf(URL);
  });

  it.each([undefined, '', ' ', 'a b', 'a/b', 'a?b', 'u@h', 'h:', 'h:0', 'h:65536', 'h:-1', '[zz::1]', ':80'])('refuses %j', (host) => {
    expect(parseHost(host)).toBeUndefined();
  });

  it('refuses a repeated header', () => {
    expect(parseHost(['a', 'b'])).toBeUndefined();
  });
});
