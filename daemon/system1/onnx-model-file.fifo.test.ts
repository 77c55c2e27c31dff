import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readOnnxModelInfo } from './onnx-model-file.ts';
import { openOnnxSession } from './onnx-session.ts';

const dir = mkdtempSync(join(tmpdir(), 'onnx-fifo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a model path that is not a file', () => {
  // Opening a FIFO blocks until something writes to it: on the main thread that would hang the daemon's start,
  // and with it every stop and SIGTERM.
  const fifo = join(dir, 'policy.onnx');
  execFileSync('mkfifo', [fifo]);

  it('is refused at once by the model reader, naming what it is', () => {
    expect(() => readOnnxModelInfo(fifo)).toThrow(`ONNX model ${fifo} is a named pipe, not a file`);
  });

  it('is refused at once by the session opener', async () => {
    await expect(openOnnxSession(fifo)).rejects.toThrow('is a named pipe, not a file');
  });

  it('a directory is refused the same way', () => {
    expect(() => readOnnxModelInfo(dir)).toThrow(`ONNX model ${dir} is a directory, not a file`);
  });
});
