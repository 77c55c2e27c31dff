import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What the storage answered a PUT. */
export interface Answer {
  status: number;
  etag: string;
  retryAfter: string | undefined;
  text: string;
}

/** How long a PUT waits for `100 Continue` before sending its body anyway (a server that ignores Expect). */
const CONTINUE_WAIT_MS = 1000;

/**
 * One PUT with node:http(s), the body written by `writeBody`; resolves with the answer (its first 64 KiB).
 * The PUT asks `Expect: 100-continue`, so a storage refuses a bad or expired URL before any byte of the body
 * is sent (a metered link pays nothing for it); a storage that answers mid-body is heard too (`answered()`).
 */
export function httpPut(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  writeBody: (req: ClientRequest, answered: () => boolean) => Promise<void>,
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: 'PUT',
      headers: { ...headers, expect: '100-continue' },
      signal,
    });
    let answered = false;
    let started = false;
    const start = () => {
      clearTimeout(wait);
      if (started || answered) return;
      started = true;
      writeBody(req, () => answered).then(
        () => {
          if (!answered) req.end();
        },
        (e: unknown) => {
          req.destroy();
          reject(e);
        },
      );
    };
    const wait = setTimeout(start, CONTINUE_WAIT_MS);
    req.on('continue', start);
    req.on('error', (e) => {
      clearTimeout(wait);
      reject(e);
    });
    req.on('response', (res) => {
      clearTimeout(wait);
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (size < 64 * 1024) chunks.push(d);
        size += d.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        const retryAfter = res.headers['retry-after'];
        resolve({
          status: res.statusCode ?? 0,
          etag: res.headers.etag ?? '',
          retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
          text: Buffer.concat(chunks).toString('utf8'),
        });
        if (!req.writableFinished) req.destroy(); // answered before the body's end: the connection can't be reused
      });
    });
    req.flushHeaders();
  });
}
