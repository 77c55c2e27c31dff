import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { haltLatchPath } from '../../daemon/halt/index.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { postJson } from '../helpers/post-json.ts';
import { waitFor } from '../helpers/wait.ts';
import { listenerDaemon } from './listener-daemon.ts';

// An attacker's requests to the stop listener, as raw bytes: each gets the answer the API gives the same request
// (status and error), and none stops the robot or touches the latch. A flood of stops keeps the first stop's latch,
// so the operator's release naming its `since` goes through while the flood lasts.

const cleanups = cleanupStack();

interface Answer {
  status: number;
  error: string | undefined;
  message: string | undefined;
}

/** Sends `head` then `body` on a socket of its own, leaving it open (`end` false); the answer, once it closes. */
function raw(url: string, head: string, body: Buffer = Buffer.alloc(0), end = true): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {}); // a reset after the answer is the server closing; `close` follows
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1];
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const json = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4) || '{}') as { error?: string; message?: string };
      resolve({ status: Number(status), error: json.error, message: json.message });
    });
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    if (end) socket.end();
  });
}

/** A POST /stop to `url` as a client writes it, `headers` added, with `body`. */
function stopRequest(url: string, headers: string, body: Buffer): [string, Buffer] {
  const { host } = new URL(url);
  const head = `POST /stop HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\n${headers}\r\n`;
  return [head, body];
}

const JSON_TYPE = 'Content-Type: application/json\r\n';
const ORDER = '{"by": "mallory", "reason": "forged"}';

/** Each malformed request, its expected answer, and the bytes it sends (`end` false: it holds the socket open). */
const malformed: { what: string; status: number; error: string; send: (url: string) => Parameters<typeof raw> }[] = [
  {
    what: 'a body that is not UTF-8',
    status: 400,
    error: 'bad_request',
    send: (url) => [
      url,
      ...stopRequest(url, JSON_TYPE, Buffer.from([...Buffer.from('{"by": "mal'), 0xff, 0x22, 0x7d])),
    ],
  },
  {
    what: 'a gzip body',
    status: 415,
    error: 'unsupported_media_type',
    send: (url) => [url, ...stopRequest(url, `${JSON_TYPE}Content-Encoding: gzip\r\n`, gzipSync(ORDER))],
  },
  {
    what: 'a UTF-16 body',
    status: 415,
    error: 'unsupported_media_type',
    send: (url) => [
      url,
      ...stopRequest(url, 'Content-Type: application/json; charset=utf-16\r\n', Buffer.from(ORDER, 'utf16le')),
    ],
  },
  {
    what: 'a Content-Length of a gigabyte, whose body never comes',
    status: 413,
    error: 'payload_too_large',
    send: (url) => {
      const { host } = new URL(url);
      return [
        url,
        `POST /stop HTTP/1.1\r\nHost: ${host}\r\n${JSON_TYPE}Content-Length: 1000000000\r\n\r\n{"by"`,
        undefined,
        false,
      ];
    },
  },
  {
    what: 'headers of 20 KiB',
    status: 431,
    error: 'headers_too_large',
    send: (url) => [url, ...stopRequest(url, `${JSON_TYPE}X-Fill: ${'a'.repeat(20 * 1024)}\r\n`, Buffer.from(ORDER))],
  },
  {
    what: 'headers that never end',
    status: 408,
    error: 'timeout',
    send: (url) => [url, `POST /stop HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: app`, undefined, false],
  },
];

/** The listener's daemon; the API's own limit as short as the listener's, so both answer a request that never ends. */
const listenerDaemonAt = (prefix: string, dataDir?: string) =>
  listenerDaemon(cleanups, prefix, { ...(dataDir ? { data_dir: dataDir } : {}), api: { request_timeout_s: 1 } });

/** The latch file as a restart would read it. */
const latchFile = (daemon: Daemon) =>
  JSON.parse(readFileSync(haltLatchPath(daemon.dataDir), 'utf8')) as {
    by: string;
    reason: string | null;
    since: string;
  };

describe('the stop listener, sent what the API refuses', () => {
  it('answers each as the API does, and stops nothing', { timeout: 60_000 }, async () => {
    const { daemon, apiUrl, stopUrl, line } = await listenerDaemonAt('stop-answers-');
    for (const { what, status, error, send } of malformed) {
      const [listener, api] = await Promise.all([raw(...send(stopUrl)), raw(...send(apiUrl))]);
      expect({ what, status: listener.status, error: listener.error }).toEqual({ what, status, error });
      expect({ what, status: api.status, error: api.error }).toEqual({ what, status, error });
    }
    expect(line.stops).toBe(0);
    expect(daemon.haltAuthority.latch.state).toBeUndefined();
    expect(existsSync(haltLatchPath(daemon.dataDir))).toBe(false);

    // A name the listener reads as UTF-8 is the name the latch file keeps.
    const order = Buffer.from('{"by": "Ada Lovelace ✓", "reason": "gärtner im gang"}');
    expect(await raw(stopUrl, ...stopRequest(stopUrl, JSON_TYPE, order))).toMatchObject({ status: 200 });
    await waitFor(() => daemon.haltAuthority.latch.state?.persisted === true, 'the latch written');
    expect(latchFile(daemon)).toMatchObject({ by: 'Ada Lovelace ✓', reason: 'gärtner im gang' });
  });
});

describe('stops while latched', () => {
  it(
    "keep the first stop's since through 200 stops, and a release naming it goes through while stops keep coming",
    {
      timeout: 120_000,
    },
    async () => {
      const { daemon, apiUrl, stopUrl, line } = await listenerDaemonAt('stop-since-');
      expect((await postJson(stopUrl, '/stop', { by: 'ada', reason: 'person in the aisle' })).status).toBe(200);
      await waitFor(() => daemon.haltAuthority.latch.state?.persisted === true, 'the first latch written');
      const first = { ...daemon.haltAuthority.latch.state! };
      expect(first).toMatchObject({ by: 'ada', reason: 'person in the aisle' });

      for (let i = 0; i < 200; i++) {
        const url = i % 2 === 0 ? stopUrl : apiUrl;
        const { status, json } = await postJson(url, '/stop', { by: `mallory-${i}`, reason: 'flood' });
        expect({ i, status }).toEqual({ i, status: 200 });
        // The API's answer names the latch that holds: the first one.
        if (url === apiUrl) expect(json.latched).toMatchObject({ by: 'ada', since: first.since });
      }
      await waitFor(() => line.pending === 0, 'the listener stops taken');
      expect(daemon.haltAuthority.latch.state).toMatchObject({ by: 'ada', since: first.since });
      expect(latchFile(daemon)).toEqual({ by: 'ada', reason: 'person in the aisle', since: first.since });

      let flooding = true;
      cleanups.push(() => void (flooding = false));
      const flood = (url: string) =>
        (async () => {
          while (flooding) await postJson(url, '/stop', { by: 'mallory', reason: 'flood' });
        })();
      const floods = [flood(stopUrl), flood(apiUrl)];
      const release = await postJson(apiUrl, '/stop/release', { by: 'ada', since: first.since }).finally(
        () => (flooding = false),
      );
      await Promise.all(floods);
      expect(release).toMatchObject({
        status: 200,
        json: { released: true, latch: { by: 'ada', since: first.since } },
      });
    },
  );

  it('keep a latch from before the restart, file and all; a stop during a release latches anew', async () => {
    const dir = tempDir('stop-since-restart-');
    cleanups.push(dir.cleanup);
    const dataDir = join(dir.path, 'data');
    mkdirSync(join(dataDir, 'state'), { recursive: true });
    const before = { by: 'ada', reason: 'wheel slipping', since: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(dataDir, 'state', 'stop-latch.json'), JSON.stringify(before));
    const { daemon, apiUrl, stopUrl, line } = await listenerDaemonAt('stop-since-restart-', dataDir);
    expect(daemon.haltAuthority.latch.state).toMatchObject(before);

    expect((await postJson(stopUrl, '/stop', { by: 'mallory' })).status).toBe(200);
    expect((await postJson(apiUrl, '/stop', { by: 'mallory' })).json.latched).toMatchObject(before);
    await waitFor(() => line.pending === 0, 'the listener stop taken');
    expect(latchFile(daemon)).toEqual(before);

    // Released, and a stop in the same tick: that stop is a new latch, not the one released.
    const releasing = daemon.haltAuthority.release('ada', before.since);
    const stopping = daemon.haltAuthority.halt('bob', 'came during the release');
    expect(await releasing).toMatchObject({ released: true, latch: before });
    await stopping;
    const after = daemon.haltAuthority.latch.state!;
    expect(after).toMatchObject({ by: 'bob', reason: 'came during the release' });
    expect(after.since).not.toBe(before.since);
    expect(latchFile(daemon)).toEqual({ by: 'bob', reason: 'came during the release', since: after.since });
    expect(await postJson(apiUrl, '/stop/release', { by: 'ada', since: before.since })).toMatchObject({ status: 409 });
  });
});
