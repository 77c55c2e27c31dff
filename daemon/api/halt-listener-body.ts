import type { IncomingMessage } from 'node:http';
import type { HttpError } from './http-error.ts';

/**
 * A request's body, whole, within `max` bytes, or `tooLarge()`: a body whose Content-Length says it is larger is
 * refused before a byte of it is read, and one that grows past it is not read on (its connection closes after the
 * answer).
 */
export function readBody(req: IncomingMessage, max: number, tooLarge: () => HttpError): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (bytes > max) return; // answered already
      bytes += chunk.length;
      if (bytes > max) reject(tooLarge());
      else chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}
