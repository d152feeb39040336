import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest, createServer } from 'node:http';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ROOT } from './run-cli';

/** The variables a CLI run needs to reach s3rver through the standard AWS chain. */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  // Never ask an instance metadata service, and no shared files of this machine.
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/nonexistent/ofauth-test-aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/ofauth-test-aws-credentials',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export interface FakeS3 {
  /** A recording proxy in front of s3rver (the Host header passes unchanged, so signatures hold). */
  endpoint: string;
  /** Method and path (with query) of every request through `endpoint`. */
  requests: string[];
  /** s3rver's own port (behind the recording proxy). */
  s3rverPort: number;
  /** The same requests' headers, in the same order. */
  headers: import('node:http').IncomingHttpHeaders[];
  client: S3Client;
  put(bucket: string, key: string, body: Buffer, contentType?: string): Promise<void>;
  createBucket(bucket: string): Promise<void>;
  close(): Promise<void>;
}

/** s3rver on 127.0.0.1 in a child process (see test/fixtures/s3rver-child.mjs for why a child), once it listens. */
export async function startS3rverChild(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(ROOT, 'test', 'fixtures', 's3rver-child.mjs')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver child exited with ${code} before listening`)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) resolve((JSON.parse(text.split('\n')[0] ?? '') as { port: number }).port);
    });
  });
  return { child, port };
}

/** s3rver with a recording proxy and a client. */
export async function startFakeS3(): Promise<FakeS3> {
  const { child, port } = await startS3rverChild();
  const requests: string[] = [];
  const headers: import('node:http').IncomingHttpHeaders[] = [];
  const proxy = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    headers.push(req.headers);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    requests,
    s3rverPort: port,
    headers,
    client,
    createBucket: async (bucket) => void (await client.send(new CreateBucketCommand({ Bucket: bucket }))),
    put: async (bucket, key, body, contentType) =>
      void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(contentType === undefined ? {} : { ContentType: contentType }) }))),
    close: async () => {
      client.destroy();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
    },
  };
}
