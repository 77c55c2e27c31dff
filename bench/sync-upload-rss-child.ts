/**
 * Child process of sync-upload.bench.ts: uploads one file to a grant (JSON in argv[2]: path, size, sha256,
 * grant) with an unlimited budget and samples RSS every 100 ms; prints `{ idle, samples, outcome }` as JSON on
 * its last line. Run alone so nothing else's memory counts.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Budget } from '../central-link/sync/budget.ts';
import { uploadFile, type UploadJob } from '../central-link/sync/uploader.ts';

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as UploadJob;
// Idle is a process that has sent before: node:http's code loaded, a connection made.
const origin = new URL(job.grant.mode === 'single' ? job.grant.put.url : job.grant.parts[0]!.put.url).origin;
await new Promise<void>((resolve) => {
  const req = request(`${origin}/minio/health/ready`, { method: 'PUT' }, (res) => res.resume().on('end', resolve));
  req.on('error', () => resolve()); // any answer does: only the code path is warmed
  req.end(Buffer.alloc(64 * 1024));
});
global.gc?.();
const idle = process.memoryUsage().rss;
const samples: number[] = [];
const timer = setInterval(() => samples.push(process.memoryUsage().rss), 100);
const out = await uploadFile(job, { budget: new Budget({ bytesPerS: 0 }) });
clearInterval(timer);
samples.push(process.memoryUsage().rss);
console.log(JSON.stringify({ idle, samples, outcome: out.kind }));
