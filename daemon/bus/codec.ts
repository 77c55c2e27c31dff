import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import './cdr-bounds.ts';
import type { DefinitionsRegistry } from './definitions.ts';

export class DecodeError extends Error {
  override name = 'DecodeError';
}

/**
 * Encodes and decodes CDR for types the registry knows, with one reader and writer cached per type.
 * Decoding is on demand: the bus never calls this; consumers that need fields do.
 */
export class MessageCodec {
  #registry: DefinitionsRegistry;
  #readers = new Map<string, MessageReader>();
  #writers = new Map<string, MessageWriter>();

  constructor(registry: DefinitionsRegistry) {
    this.#registry = registry;
  }

  decode<T = Record<string, unknown>>(type: string, data: Uint8Array): T {
    let reader = this.#readers.get(type);
    if (!reader) {
      reader = new MessageReader(this.#registry.resolve(type).definitions);
      this.#readers.set(type, reader);
    }
    try {
      return reader.readMessage<T>(data);
    } catch (error) {
      throw new DecodeError(`cannot decode ${data.byteLength} bytes as ${type}: ${(error as Error).message}`);
    }
  }

  encode(type: string, message: unknown): Uint8Array {
    let writer = this.#writers.get(type);
    if (!writer) {
      writer = new MessageWriter(this.#registry.resolve(type).definitions);
      this.#writers.set(type, writer);
    }
    return writer.writeMessage(message);
  }
}
