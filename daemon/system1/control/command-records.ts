import { writeSync } from 'node:fs';
import type { LoopWorkerMessage } from './loop-protocol.ts';

/**
 * A loop process's commands, as its loop thread writes them to the command pipe (the process's fd 4, a socket the
 * daemon reads): one record per command, [bytes in all (uint32), action length (uint32), safe (uint8), 3 bytes of
 * padding], the action (float32 each), then the command's CDR bytes. The loop thread writes each from one buffer it
 * allocated once, with one write call, past the process's main thread and its fork channel.
 */
const HEADER_BYTES = 12;

/** The file descriptor a loop process's loop thread writes its command records to (fork's stdio[4]). */
export const COMMAND_FD = 4;

/**
 * The loop thread's side. The pipe is non-blocking: when the daemon does not read (its main thread stalled long
 * enough to fill the socket's buffer), a command is dropped and write() says so, rather than the loop waiting on it.
 * A record the socket took only part of is finished before the next one goes.
 */
export class CommandRecordWriter {
  readonly #fd: number;
  #record: Uint8Array;
  #words: Uint32Array;
  #action: Float32Array;
  #unsent: Uint8Array | undefined;

  constructor(fd: number, dim: number, cdrBytes = 256) {
    this.#fd = fd;
    this.#record = new Uint8Array(HEADER_BYTES + dim * 4 + cdrBytes);
    this.#words = new Uint32Array(this.#record.buffer, 0, 3);
    this.#action = new Float32Array(this.#record.buffer, HEADER_BYTES, dim);
  }

  /** Writes one command; false when it was dropped because the daemon is not reading. */
  write(cdr: Uint8Array, action: Float32Array, safe: boolean): boolean {
    if (this.#unsent && !this.#send(this.#unsent)) return false;
    const start = HEADER_BYTES + this.#action.byteLength;
    const bytes = start + cdr.byteLength;
    if (bytes > this.#record.byteLength) this.#grow(bytes);
    const words = this.#words;
    words[0] = bytes;
    words[1] = this.#action.length;
    words[2] = safe ? 1 : 0;
    this.#action.set(action);
    this.#record.set(cdr, start);
    // Taken in part: the rest goes first next time, so the daemon never reads half a record followed by another.
    return this.#send(this.#record, bytes) || this.#unsent !== undefined;
  }

  /**
   * Writes the first `length` bytes of `bytes` (a length, not a subarray: a view made each tick is an allocation
   * each tick); true when all went. What the socket did not take is kept in #unsent.
   */
  #send(bytes: Uint8Array, length = bytes.byteLength): boolean {
    let written: number;
    try {
      written = writeSync(this.#fd, bytes, 0, length);
    } catch (error) {
      // Full (EAGAIN), or the daemon's end is closed (EPIPE; its going stops this loop): this command is lost.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EPIPE') return false;
      throw error;
    }
    this.#unsent = written === length ? undefined : bytes.slice(written, length);
    return this.#unsent === undefined;
  }

  #grow(bytes: number): void {
    const dim = this.#action.length;
    this.#record = new Uint8Array(bytes * 2);
    this.#words = new Uint32Array(this.#record.buffer, 0, 3);
    this.#action = new Float32Array(this.#record.buffer, HEADER_BYTES, dim);
  }
}

/** The daemon's side: the pipe's bytes in, each whole record out as the loop thread's `command` message. */
export class CommandRecordReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Takes a chunk read from the pipe; calls `each` for every record it completes, in order. */
  push(chunk: Buffer, each: (m: Extract<LoopWorkerMessage, { kind: 'command' }>) => void): void {
    let pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (pending.length >= HEADER_BYTES) {
      const bytes = pending.readUInt32LE(0);
      if (pending.length < bytes) break;
      const dim = pending.readUInt32LE(4);
      const safe = pending[8] === 1;
      const start = HEADER_BYTES + dim * 4;
      // Copies: the bus may keep a command (the recorder), and a chunk's buffer is not aligned for float32 views.
      const values = new Float32Array(dim);
      new Uint8Array(values.buffer).set(pending.subarray(HEADER_BYTES, start));
      each({ kind: 'command', data: Uint8Array.prototype.slice.call(pending, start, bytes), values, safe });
      pending = pending.subarray(bytes);
    }
    this.#pending = pending;
  }
}
