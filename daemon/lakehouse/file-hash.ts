import { Worker } from 'node:worker_threads';
import { BagError } from '../bags/index.ts';

// Plain JavaScript, so the worker needs no TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
try {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(workerData, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  parentPort.postMessage({ hex: hash.digest('hex') });
} catch (error) {
  parentPort.postMessage({ error: String(error && error.message || error) });
}
`;

/**
 * The sha256 of a file, hex, computed on a worker thread so that it runs beside the import on the
 * other core instead of before it.
 */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: file });
    let settled = false;
    worker.once('message', (m: { hex?: string; error?: string }) => {
      settled = true;
      if (m.hex) resolve(m.hex);
      else reject(new BagError(file, `cannot read: ${m.error ?? 'unknown error'}`));
    });
    worker.once('error', (error) => {
      if (!settled) reject(new BagError(file, `cannot read: ${error.message}`));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new BagError(file, `cannot read: the hashing worker exited with code ${code}`));
    });
  });
}
