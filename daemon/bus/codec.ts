import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import './cdr-bounds.ts';
import './cdr-utf8.ts';
import type { DefinitionsRegistry } from './definitions.ts';
import { FieldValidator } from './field-validator.ts';
import { errorText } from '../util/index.ts';

export class DecodeError extends Error {
  override name = 'DecodeError';
}

interface Encoder {
  writer: MessageWriter;
  /** Puts the defaults of missing sequences in (see sequenceDefaults); undefined when the type has none. */
  fill: ((message: unknown) => unknown) | undefined;
}

/**
 * Encodes and decodes CDR for types the registry knows, with one reader and writer cached per type. The
 * caches are dropped when the registry's definitions change (a SIGHUP adding `bus.definitions.dirs`), so a
 * long-lived codec writes the layout the registry now has.
 * Decoding is on demand: the bus never calls this; consumers that need fields do.
 */
export class MessageCodec {
  #registry: Pick<DefinitionsRegistry, 'generation' | 'resolve'>;
  #generation: number;
  #readers = new Map<string, MessageReader>();
  #encoders = new Map<string, Encoder>();
  #validators = new Map<string, FieldValidator>();

  /** `registry`: the daemon's, or the few types a thread needs, resolved by the daemon's (the stop's Zenoh doors). */
  constructor(registry: Pick<DefinitionsRegistry, 'generation' | 'resolve'>) {
    this.#registry = registry;
    this.#generation = registry.generation;
  }

  decode<T = Record<string, unknown>>(type: string, data: Uint8Array): T {
    this.#checkGeneration();
    let reader = this.#readers.get(type);
    if (!reader) {
      reader = new MessageReader(this.#registry.resolve(type).definitions);
      this.#readers.set(type, reader);
    }
    try {
      return reader.readMessage<T>(data);
    } catch (error) {
      throw new DecodeError(`cannot decode ${data.byteLength} bytes as ${type}: ${errorText(error)}`);
    }
  }

  /**
   * CDR of `message`; missing fields take their defaults. It trusts the message's shape: check what comes
   * from outside with `validator(type)` first (a string where an array belongs writes a wrong length).
   */
  encode(type: string, message: unknown): Uint8Array {
    this.#checkGeneration();
    let encoder = this.#encoders.get(type);
    if (!encoder) {
      const { definitions } = this.#registry.resolve(type);
      encoder = { writer: new MessageWriter(definitions), fill: sequenceDefaults(definitions) };
      this.#encoders.set(type, encoder);
    }
    return encoder.writer.writeMessage(encoder.fill ? encoder.fill(message) : message);
  }

  /** Checks a message given as JSON-like values against the type, for boundaries (see FieldValidator). */
  validator(type: string): FieldValidator {
    this.#checkGeneration();
    let validator = this.#validators.get(type);
    if (!validator) {
      validator = new FieldValidator(type, this.#registry.resolve(type).definitions);
      this.#validators.set(type, validator);
    }
    return validator;
  }

  #checkGeneration(): void {
    if (this.#generation === this.#registry.generation) return;
    this.#generation = this.#registry.generation;
    this.#readers.clear();
    this.#encoders.clear();
    this.#validators.clear();
  }
}

/**
 * @foxglove/rosmsg2-serialization's MessageWriter writes a missing sequence that has a default
 * (`uint8[] a [1, 2, 3]`) as length 0 followed by the default's items, which no reader can decode. This
 * returns a function that fills those sequences in with their defaults, at any depth, before the writer
 * sees the message; undefined for the (usual) type that has none, which then costs nothing.
 */
function sequenceDefaults(definitions: readonly MessageDefinition[]): ((message: unknown) => unknown) | undefined {
  const types = new Map(definitions.map((d) => [d.name!, d.definitions.filter((f) => !f.isConstant)]));
  const needs = new Map<string, boolean>();
  const need = (type: string): boolean => {
    const known = needs.get(type);
    if (known !== undefined) return known;
    needs.set(type, false); // a type reached again through its own sequence adds nothing new
    const fields = types.get(type) ?? [];
    const result = fields.some((f) => (f.isComplex === true ? need(f.type) : isDefaultedSequence(f)));
    needs.set(type, result);
    return result;
  };
  const fill = (type: string, value: unknown): Record<string, unknown> => {
    const given = (value !== null && typeof value === 'object' ? value : {}) as Record<string, unknown>;
    const out: Record<string, unknown> = { ...given };
    for (const f of types.get(type) ?? []) {
      const v = given[f.name];
      if (f.isComplex === true) {
        if (!need(f.type)) continue;
        if (!f.isArray) out[f.name] = fill(f.type, v);
        else if (Array.isArray(v)) out[f.name] = v.map((item) => fill(f.type, item));
        else if (f.arrayLength !== undefined)
          out[f.name] = Array.from({ length: f.arrayLength }, () => fill(f.type, undefined));
      } else if (isDefaultedSequence(f) && !(Array.isArray(v) || ArrayBuffer.isView(v))) {
        out[f.name] = f.defaultValue; // what the writer would use for the items, now with its length
      }
    }
    return out;
  };
  const root = definitions[0]!.name!;
  return need(root) ? (message) => fill(root, message) : undefined;
}

function isDefaultedSequence(f: MessageDefinitionField): boolean {
  return f.isArray === true && f.arrayLength === undefined && f.defaultValue !== undefined;
}
