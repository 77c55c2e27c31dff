import { open, stat, type FileHandle } from 'node:fs/promises';
import { partCount, partRange, type MultipartGrant, type SignedRequest, type SingleGrant } from '../sync-protocol.ts';
import type { UploadedPart } from '../sync-protocol.ts';
import { errorText, exponentialBackoff, sleep } from '../../daemon/util/index.ts';
import type { Budget } from './budget.ts';
import { httpPut } from './http-put.ts';
import { chunkFor, FileGone, md5OfRange, writeRange } from './part-bytes.ts';

export interface UploadJob {
  /** Absolute path of the file on disk. */
  path: string;
  /** The size and sha256 the file was offered with: a file whose size differs now is `gone`. */
  size: number;
  sha256: string;
  grant: SingleGrant | MultipartGrant;
  /**
   * Parts the edge recorded as acknowledged for this grant's upload id (onPart's), not sent again. The caller
   * clears them when the upload id changes.
   */
  acked: UploadedPart[];
}

export type UploadOutcome =
  /** Every byte is at the storage: send `complete` with these parts. */
  | { kind: 'done'; parts: UploadedPart[] }
  /** The URL expired or was refused (403, or an upload the storage no longer has): offer again for a new grant. */
  | { kind: 'expired' | 'forbidden'; parts: UploadedPart[]; error?: string }
  /** The file is missing, changed size, or its bytes no longer match the offered sha256. */
  | { kind: 'gone'; error: string }
  /** Retries spent, or the storage refused the request for good: try again later. */
  | { kind: 'failed'; error: string; parts: UploadedPart[] }
  | { kind: 'aborted'; parts: UploadedPart[] };

export interface UploadOptions {
  /** Every chunk takes `bulk` tokens from it before it is read from disk. */
  budget: Budget;
  signal?: AbortSignal;
  /** Called with each part the storage acknowledged, one call at a time (persist it there): resumes skip it. */
  onPart?: (p: UploadedPart) => void | Promise<void>;
  /** Bytes handed to the connection (a retried part counts again). */
  onProgress?: (bytes: number) => void;
  /** Attempts per part after the first (5xx, resets, stalls). Default 6. */
  maxRetries?: number;
  /** Exponential backoff between attempts, with jitter: first delay and ceiling (ms). Default 500 and 30,000. */
  backoffMs?: { base: number; max: number };
  /** An attempt that neither sends a byte nor gets an answer for this long is dropped and retried. */
  stallTimeoutMs?: number;
  /** Bytes read, budgeted and written at a time. Default: 100 ms of the budget's rate, 64 KiB to 1 MiB. */
  chunkBytes?: number;
}

interface PlannedPart {
  part_number: number;
  start: number;
  end: number;
  put: SignedRequest;
  /** Its Content-MD5, computed ahead while the part before it was sent. */
  md5?: Promise<string>;
}

/** A part needs a Content-MD5 unless the grant signed a checksum the storage checks. */
function needsMd5(put: SignedRequest): boolean {
  const named = Object.keys(put.headers ?? {}).map((k) => k.toLowerCase());
  return !named.includes('content-md5') && !named.some((k) => k.startsWith('x-amz-checksum-'));
}

/** What one attempt at a part came to. */
type Attempt =
  | { kind: 'ok'; etag: string }
  | { kind: 'retry'; error: string; afterMs?: number }
  | { kind: 'expired' | 'forbidden' | 'gone' | 'failed' | 'aborted'; error: string };

/**
 * Uploads a file to the URLs of a grant: the parts the storage and the edge do not already have, in order and
 * two at a time, streamed from disk in chunks (memory stays flat whatever the size), each chunk budgeted first.
 * Each part carries a checksum the storage checks: the grant's signed `x-amz-checksum-sha256` (whole-file,
 * single PUT), or a Content-MD5 computed in a pass over the part before it is sent. A refused or expired URL ends the
 * upload with the parts so far (the caller asks a new grant); the file is never restarted.
 */
export async function uploadFile(job: UploadJob, o: UploadOptions): Promise<UploadOutcome> {
  const { grant } = job;
  const parts = new Map<number, UploadedPart>();
  const partsSoFar = () => [...parts.values()].sort((a, b) => a.part_number - b.part_number);
  let plan: PlannedPart[];
  let total: number;
  if (grant.mode === 'single') {
    plan = [{ part_number: 1, start: 0, end: job.size, put: grant.put }];
    total = 1;
  } else {
    total = partCount(job.size, grant.part_size);
    for (const p of [...grant.uploaded, ...job.acked]) {
      const r = partRange(p.part_number, grant.part_size, job.size);
      if (p.part_number <= total && p.size === r.end - r.start) parts.set(p.part_number, p);
    }
    plan = grant.parts
      .filter((p) => !parts.has(p.part_number) && p.part_number <= total)
      .sort((a, b) => a.part_number - b.part_number)
      .map((p) => ({ ...partRange(p.part_number, grant.part_size, job.size), part_number: p.part_number, put: p.put }));
  }
  const sent = await sendParts(job, plan, o, async (p) => {
    parts.set(p.part_number, p);
    await o.onPart?.(p);
  });
  if (sent) return sent.kind === 'gone' ? sent : { ...sent, parts: partsSoFar() };
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !parts.has(n));
  if (missing.length > 0) {
    const list = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ', ...' : '');
    return { kind: 'expired', parts: partsSoFar(), error: `the grant has no URL for parts ${list}` };
  }
  return { kind: 'done', parts: partsSoFar() };
}

/**
 * Parts sent at once. The storage answers a part only after it has taken (hashed, written) its last byte, and
 * the next part would wait for that answer: a second part on its own connection fills the gap. Both take their
 * chunks from the same budget, so the rate is the budget's either way.
 */
const PARTS_IN_FLIGHT = 2;

type PartsEnd =
  { kind: 'gone'; error: string } | { kind: 'expired' | 'forbidden' | 'failed'; error: string } | { kind: 'aborted' };

/**
 * Sends the planned parts, PARTS_IN_FLIGHT at a time in part order, handing each acknowledged one to `acked`
 * (one at a time, in the order they were acknowledged). The first part that ends the upload (file gone, URL
 * expired or refused, retries spent, aborted) starts no more parts; the one beside it is let finish (its
 * bytes are on the way: acknowledged, the next grant need not send them again), and the first end is
 * returned once it has. Undefined when every planned part was acknowledged.
 */
async function sendParts(
  job: UploadJob,
  plan: PlannedPart[],
  o: UploadOptions,
  acked: (p: UploadedPart) => Promise<void>,
): Promise<PartsEnd | undefined> {
  // Stops a Content-MD5 pass ahead for a part that will not be sent (the upload ended before it).
  const ahead = new AbortController();
  let end: PartsEnd | undefined;
  const finish = (e: PartsEnd) => void (end ??= e);
  let handing = Promise.resolve();
  const inFlight = new Set<Promise<void>>();
  const send = async (part: PlannedPart) => {
    const r = await sendWithRetries(job, part, o);
    if (r.kind === 'ok') {
      const p = { part_number: part.part_number, etag: r.etag, size: part.end - part.start };
      handing = handing.then(() => acked(p));
      return handing;
    }
    if (r.kind === 'aborted') finish({ kind: 'aborted' });
    else finish({ kind: r.kind === 'retry' ? 'failed' : r.kind, error: r.error });
  };
  for (const [i, part] of plan.entries()) {
    while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
    if (end) break;
    if (o.signal?.aborted) {
      finish({ kind: 'aborted' });
      break;
    }
    // The Content-MD5 pass of the part after this one runs while this one is sent.
    const next = plan[i + 1];
    if (next && needsMd5(next.put)) {
      next.md5 = md5OfRange(job.path, next.start, next.end, AbortSignal.any([ahead.signal, ...signalOf(o)]));
      next.md5.catch(() => {}); // a failure shows when the part is sent
    }
    const changed = await fileChanged(job);
    if (changed) {
      finish({ kind: 'gone', error: changed });
      break;
    }
    const task = send(part).catch((e: unknown) => finish({ kind: 'failed', error: errorText(e) }));
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  }
  await Promise.all(inFlight);
  ahead.abort(new Error('the upload ended'));
  return end;
}

function signalOf(o: UploadOptions): AbortSignal[] {
  return o.signal ? [o.signal] : [];
}

/** Why the file can't be uploaded any more (gone, or another size than offered), or undefined. */
async function fileChanged(job: UploadJob): Promise<string | undefined> {
  const s = await stat(job.path).catch((e: NodeJS.ErrnoException) => e);
  if (s instanceof Error) return `${job.path} is gone (${s.code ?? s.message})`;
  if (s.size !== job.size) return `${job.path} is ${s.size} bytes now, ${job.size} when offered`;
  return undefined;
}

async function sendWithRetries(job: UploadJob, part: PlannedPart, o: UploadOptions): Promise<Attempt> {
  const { maxRetries = 6, backoffMs = { base: 500, max: 30_000 } } = o;
  let last: Attempt = { kind: 'failed', error: 'not tried' };
  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    if (attempt > 0) {
      // Half fixed, half random: robots cut off together do not come back in step.
      const d = exponentialBackoff(attempt - 1, { firstMs: backoffMs.base, maxMs: backoffMs.max, jitter: 0.5 });
      const wait = Math.max(last.kind === 'retry' ? (last.afterMs ?? 0) : 0, d);
      if (!(await sleep(wait, { signal: o.signal }))) return { kind: 'aborted', error: 'aborted' };
      const changed = await fileChanged(job);
      if (changed) return { kind: 'gone', error: changed };
    }
    last = await attemptPart(job, part, o);
    if (last.kind !== 'retry') return last;
  }
  const error = last.kind === 'retry' ? last.error : 'retries spent';
  return { kind: 'failed', error: `part ${part.part_number}: ${maxRetries + 1} attempts failed, last: ${error}` };
}

/** One PUT of one part. */
async function attemptPart(job: UploadJob, part: PlannedPart, o: UploadOptions): Promise<Attempt> {
  const { stallTimeoutMs = 60_000, chunkBytes = chunkFor(o.budget.stats().bytes_per_s) } = o;
  const headers: Record<string, string> = { ...part.put.headers };
  const sha256Signed = Object.keys(headers).some((k) => k.toLowerCase() === 'x-amz-checksum-sha256');
  let fh: FileHandle;
  try {
    if (needsMd5(part.put)) {
      const md5 = part.md5 ?? md5OfRange(job.path, part.start, part.end, o.signal);
      part.md5 = undefined; // a retry hashes again: the part may have changed on disk
      headers['content-md5'] = await md5;
    }
    fh = await open(job.path, 'r');
  } catch (e) {
    return readError(e, o.signal);
  }
  headers['content-length'] = String(part.end - part.start);
  const attempt = new AbortController();
  const stall = new StallTimer(stallTimeoutMs, () => attempt.abort(new Error(`no progress for ${stallTimeoutMs} ms`)));
  const onAbort = () => attempt.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  stall.arm();
  try {
    const res = await httpPut(part.put.url, headers, attempt.signal, (req, answered) =>
      writeRange(fh, part, req, answered, {
        chunkBytes,
        before: async (n) => {
          stall.pause(); // waiting for the budget is not a stall
          await o.budget.take(n, 'bulk', attempt.signal);
          stall.arm();
        },
        after: (n) => {
          stall.arm();
          o.onProgress?.(n);
        },
        path: job.path,
      }),
    );
    if (res.status >= 200 && res.status < 300) return { kind: 'ok', etag: res.etag };
    return refusal(res.status, res.text, res.retryAfter, job, sha256Signed);
  } catch (e) {
    const r = readError(e, o.signal);
    // A storage may answer an expired URL and close before reading the body: the send fails, not a 403.
    if (r.kind === 'retry' && Date.now() > job.grant.expires_at) return { kind: 'expired', error: r.error };
    return r;
  } finally {
    stall.pause();
    o.signal?.removeEventListener('abort', onAbort);
    await fh.close().catch(() => {}); // closed already: nothing to release
  }
}

/** A non-2xx answer: the storage's code and message decide. */
function refusal(
  status: number,
  text: string,
  retryAfter: string | undefined,
  job: UploadJob,
  sha256: boolean,
): Attempt {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
  const error = `HTTP ${status}${code ? ` ${code}` : ''}: ${message}`;
  if (status === 403) {
    const expired = Date.now() > job.grant.expires_at || /expired/i.test(message);
    return { kind: expired ? 'expired' : 'forbidden', error };
  }
  // The upload id is no longer known (aborted, or completed already): a new grant makes a fresh one.
  if (status === 404 && code === 'NoSuchUpload') return { kind: 'forbidden', error };
  if (status >= 500 || status === 429 || status === 408) {
    const s = Number(retryAfter);
    return { kind: 'retry', error, afterMs: Number.isFinite(s) && s > 0 ? s * 1000 : undefined };
  }
  if (/BadDigest|ChecksumMismatch|InvalidDigest/.test(code)) {
    // The offer's sha256 no longer matches the bytes on disk: the file changed since it was offered.
    if (sha256) return { kind: 'gone', error: `${job.path} no longer has the sha256 it was offered with (${error})` };
    // Content-MD5 was computed in a pass before sending: the part changed between the passes, or in flight.
    return { kind: 'retry', error };
  }
  return { kind: 'failed', error };
}

function readError(e: unknown, signal: AbortSignal | undefined): Attempt {
  if (signal?.aborted) return { kind: 'aborted', error: 'aborted' };
  if (e instanceof FileGone) return { kind: 'gone', error: e.message };
  const err = e as Error & { cause?: Error & { code?: string } };
  if (err.name === 'AbortError' || err.cause?.name === 'AbortError') return { kind: 'retry', error: 'stalled' };
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone', error: err.message };
  const cause = err.cause ? ` (${err.cause.code ?? err.cause.message})` : '';
  return { kind: 'retry', error: `${err.message}${cause}` };
}

/** Fires once `ms` pass between arm() and pause() (re-arming restarts the count). */
class StallTimer {
  #ms: number;
  #fire: () => void;
  #t: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, fire: () => void) {
    this.#ms = ms;
    this.#fire = fire;
  }

  arm(): void {
    this.pause();
    this.#t = setTimeout(this.#fire, this.#ms);
  }

  pause(): void {
    if (this.#t) clearTimeout(this.#t);
    this.#t = undefined;
  }
}
