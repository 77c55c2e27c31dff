import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { GrantMaker } from '../central/presign.ts';
import { syncFileId, type Offer } from '../central-link/sync-protocol.ts';
import { Budget } from '../central-link/sync/budget.ts';
import { uploadFile, type UploadJob } from '../central-link/sync/uploader.ts';
import { startMinio, type Minio } from '../test/helpers/minio.ts';
import type { BenchResult } from './bench.ts';

// Bulk sync's uploads against a real MinIO on loopback: throughput beside curl -T to the same kind of URL,
// the budget's accuracy, RSS during a large upload. BENCH_SMOKE=1 makes every part small and short.
const SMOKE = process.env.BENCH_SMOKE === '1';
const UPLOAD_MB = Number(process.env.BENCH_SYNC_UPLOAD_MB ?? (SMOKE ? 20 : 200));
const BUDGET_SECONDS = Number(process.env.BENCH_SYNC_BUDGET_SECONDS ?? (SMOKE ? 3 : 60));
const RSS_MB = Number(process.env.BENCH_SYNC_RSS_MB ?? (SMOKE ? 100 : 2048));
const ROUNDS = SMOKE ? 1 : 3;
const OUT = join(import.meta.dirname, 'out');
const MiB = 1024 * 1024;
const BUCKET = 'bench';

/** A file of `mb` MiB of incompressible bytes (a sparse file for the RSS run: memory, not disk, is measured). */
async function makeFile(
  dir: string,
  name: string,
  mb: number,
  sparse = false,
): Promise<{ path: string; offer: Offer }> {
  const path = join(dir, name);
  const fh = await open(path, 'w');
  if (sparse) await fh.truncate(mb * MiB);
  else {
    const block = createHash('sha512');
    let seed = Buffer.from(name);
    for (let i = 0; i < mb; i++) {
      const chunk = Buffer.alloc(MiB);
      for (let off = 0; off < MiB; off += 64) {
        seed = block.copy().update(seed).update(String(off)).digest();
        seed.copy(chunk, off);
      }
      await fh.write(chunk);
    }
  }
  await fh.close();
  const hash = createHash('sha256');
  for await (const c of createReadStream(path)) hash.update(c as Buffer);
  const sha256 = hash.digest('hex');
  const offer: Offer = {
    schema: 'auraison.uploads/1',
    type: 'offer',
    robot: 'bench',
    fleet: 'bench',
    file_id: syncFileId('bag', sha256),
    kind: 'bag',
    path: `bags/${name}`,
    size: mb * MiB,
    sha256,
    ts: new Date().toISOString(),
  };
  return { path, offer };
}

function grantMaker(minio: Minio, thresholdBytes: number, partBytes = 16 * MiB): GrantMaker {
  return new GrantMaker({
    endpoint: minio.endpoint,
    region: minio.region,
    bucket: BUCKET,
    access_key_id: minio.accessKeyId,
    secret_access_key: minio.secretAccessKey,
    force_path_style: true,
    url_ttl_s: 3600,
    multipart_threshold_bytes: thresholdBytes,
    part_size_bytes: partBytes,
    prefix: '',
  });
}

async function job(g: GrantMaker, f: { path: string; offer: Offer }, key: string): Promise<UploadJob> {
  const grant = await g.grant(f.offer, key);
  return { path: f.path, size: f.offer.size, sha256: f.offer.sha256, grant, acked: [] };
}

/**
 * Ours: uploadFile to a fresh grant (single PUT, or multipart parts); bytes/s. Completing a multipart upload
 * (central's work, with its read-back of the object) is checked after the clock stops.
 */
async function oursBytesPerS(g: GrantMaker, f: { path: string; offer: Offer }, key: string): Promise<number> {
  const j = await job(g, f, key);
  const start = process.hrtime.bigint();
  const out = await uploadFile(j, { budget: new Budget({ bytesPerS: 0 }) });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (out.kind !== 'done') throw new Error(`upload ${out.kind}: ${'error' in out ? out.error : ''}`);
  if (j.grant.mode === 'multipart') {
    const c = await g.complete({
      schema: 'auraison.uploads/1',
      type: 'complete',
      robot: 'bench',
      file_id: j.grant.file_id,
      grant_id: j.grant.grant_id,
      object_key: key,
      sha256: j.sha256,
      size: j.size,
      upload_id: j.grant.upload_id,
      parts: out.parts,
      ts: new Date().toISOString(),
    });
    if (!c.ok) throw new Error(c.reason);
  }
  return j.size / seconds;
}

/** Baseline: `curl -T` of the same file to a presigned single PUT (the same signed sha256 header); bytes/s. */
async function curlBytesPerS(g: GrantMaker, f: { path: string; offer: Offer }, key: string): Promise<number> {
  const j = await job(g, f, key);
  if (j.grant.mode !== 'single') throw new Error('the baseline needs a single PUT grant');
  const put = j.grant.put;
  const headers = Object.entries(put.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) =>
    execFile('curl', ['-sSf', '-o', '/dev/null', '-T', f.path, ...headers, put.url], (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  return j.size / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Uploads the file again and again through a budget of `rate` for `seconds`; the bytes/s it let through. */
async function budgetedBytesPerS(
  g: GrantMaker,
  f: { path: string; offer: Offer },
  rate: number,
  seconds: number,
): Promise<number> {
  const budget = new Budget({ bytesPerS: rate });
  const stop = AbortSignal.timeout(seconds * 1000);
  let bytes = 0;
  const start = performance.now();
  for (let i = 0; !stop.aborted; i++) {
    const j = await job(g, f, `budget-${rate}-${i}`);
    await uploadFile(j, { budget, signal: stop, onProgress: (n) => (bytes += n) });
  }
  return bytes / ((performance.now() - start) / 1000);
}

/** RSS of a child uploading an `mb` MiB file; idle is its RSS before the upload starts. */
function rssInChild(j: UploadJob, dir: string): { idle: number; samples: number[]; outcome: string } {
  const jobFile = join(dir, 'rss-job.json');
  writeFileSync(jobFile, JSON.stringify(j));
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--expose-gc', join(import.meta.dirname, 'sync-upload-rss-child.ts'), jobFile],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

export async function run(): Promise<BenchResult[]> {
  await mkdir(OUT, { recursive: true });
  const dir = mkdtempSync(join(OUT, 'sync-upload-'));
  const minio = await startMinio();
  const results: BenchResult[] = [];
  try {
    await minio.createBucket(BUCKET);
    const single = grantMaker(minio, Number.MAX_SAFE_INTEGER);
    const multipart = grantMaker(minio, 0);
    const f = await makeFile(dir, 'upload.bin', UPLOAD_MB);
    // Interleaved rounds after a warm-up of each, best of each: the loopback, MinIO and the disk are shared.
    let curl = 0;
    let ours = 0;
    let oursParts = 0;
    for (let round = 0; round <= ROUNDS; round++) {
      const c = await curlBytesPerS(single, f, `curl-${round}`);
      const o = await oursBytesPerS(single, f, `ours-${round}`);
      const m = await oursBytesPerS(multipart, f, `parts-${round}`);
      if (round === 0) continue;
      curl = Math.max(curl, c);
      ours = Math.max(ours, o);
      oursParts = Math.max(oursParts, m);
    }
    const mbps = (b: number) => b / 1e6;
    results.push({
      name: `upload throughput, ${UPLOAD_MB} MiB file, single PUT signed with its sha256`,
      ours: mbps(ours),
      baseline: { name: 'curl -T to a presigned URL', value: mbps(curl) },
      unit: 'MB/s',
      better: 'higher',
      goal: '>= 0.8x curl -T',
      met: ours >= 0.8 * curl,
    });
    results.push({
      name: `upload throughput, ${UPLOAD_MB} MiB file, multipart (16 MiB parts, Content-MD5 each)`,
      ours: mbps(oursParts),
      baseline: { name: 'curl -T to a presigned URL', value: mbps(curl) },
      unit: 'MB/s',
      better: 'higher',
      goal: '>= 0.8x curl -T',
      met: oursParts >= 0.8 * curl,
    });

    // Both rates at once, for the same wall time: each has its own budget, as two robots would.
    const rates = [1_000_000, 10_000_000];
    const got = await Promise.all(rates.map((r) => budgetedBytesPerS(multipart, f, r, BUDGET_SECONDS)));
    for (const [i, rate] of rates.entries()) {
      const achieved = got[i]!;
      results.push({
        name: `budget accuracy at ${rate / 1e6} MB/s over ${BUDGET_SECONDS} s (uploads to MinIO)`,
        ours: mbps(achieved),
        baseline: { name: 'the configured rate', value: mbps(rate) },
        unit: 'MB/s',
        better: 'higher',
        goal: 'within 5% of the configured rate',
        met: Math.abs(achieved / rate - 1) <= 0.05,
      });
    }

    const big = await makeFile(dir, 'big.bin', RSS_MB, true);
    const rss = rssInChild(await job(grantMaker(minio, 0, 64 * MiB), big, 'rss'), dir);
    if (rss.outcome !== 'done') throw new Error(`the RSS run's upload ended ${rss.outcome}`);
    const peak = Math.max(...rss.samples);
    const growth = (peak - rss.idle) / MiB;
    results.push({
      name: `RSS above idle during a ${RSS_MB} MiB upload (multipart, 64 MiB parts)`,
      ours: growth,
      unit: 'MiB',
      better: 'lower',
      goal: '< 50 MiB above idle, flat',
      met: growth < 50,
      notes: [
        `idle ${(rss.idle / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, last ${(rss.samples.at(-1)! / MiB).toFixed(0)} MiB, ${rss.samples.length} samples`,
      ],
    });
    for (const g of [single, multipart]) g.close();
  } finally {
    await minio.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
