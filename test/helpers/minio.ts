import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { minioBinary } from '../peers/index.ts';
import { closedPort } from './closed-port.ts';
import { stopChild } from './stop-child.ts';
import { tempDir } from './paths.ts';
import { waitFor } from './wait.ts';

/**
 * A real MinIO server (single drive) on a free loopback port, in a temp dir. `stop('SIGKILL')` is a storage
 * that dies; `restart()` brings it back on the same port with what it stored (multipart uploads included).
 */
export interface Minio {
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dir: string;
  /** An S3 client with the root credentials (path-style, as MinIO wants). */
  client(): S3Client;
  createBucket(name: string): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startMinio(): Promise<Minio> {
  const binary = minioBinary();
  const dir = tempDir('minio-');
  const data = join(dir.path, 'data');
  mkdirSync(data);
  const port = await closedPort();
  const consolePort = await closedPort();
  const accessKeyId = 'auraison-test';
  const secretAccessKey = 'auraison-test-secret';
  const region = 'us-east-1';
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    MINIO_ROOT_USER: accessKeyId,
    MINIO_ROOT_PASSWORD: secretAccessKey,
    MINIO_REGION: region,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
    MINIO_CI_CD: '1',
  };
  const clients: S3Client[] = [];
  const client = () => {
    const c = new S3Client({
      endpoint,
      region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    clients.push(c);
    return c;
  };
  let child: ChildProcess | undefined;
  const launch = async () => {
    const args = ['server', data, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`];
    const c = spawn(binary, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    c.once('exit', () => (exited = true));
    await waitFor(
      async () => {
        if (exited) throw new Error(`minio exited at start: ${stderr}`);
        const r = await fetch(`${endpoint}/minio/health/ready`).catch(() => undefined);
        return r?.ok === true;
      },
      'minio to be ready',
      60_000,
    );
  };
  await launch();
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    child = undefined;
    await stopChild(c, signal);
  };
  return {
    endpoint,
    port,
    accessKeyId,
    secretAccessKey,
    region,
    dir: dir.path,
    client,
    createBucket: async (name) => {
      await client().send(new CreateBucketCommand({ Bucket: name }));
    },
    stop,
    restart: launch,
    cleanup: async () => {
      for (const c of clients) c.destroy();
      await stop();
      dir.cleanup();
    },
  };
}
