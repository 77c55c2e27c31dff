import type { MessageDefinition } from '@foxglove/message-definition';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { errorText } from '../util/index.ts';

/** A service event as rosidl makes it: the event's info, then at most one request and one response. */
function eventRoot(type: string, service: string): MessageDefinition {
  return {
    name: type,
    definitions: [
      { name: 'info', type: 'service_msgs/msg/ServiceEventInfo', isComplex: true },
      { name: 'request', type: `${service}_Request`, isComplex: true, isArray: true, arrayUpperBound: 1 },
      { name: 'response', type: `${service}_Response`, isComplex: true, isArray: true, arrayUpperBound: 1 },
    ],
  };
}

/** The line between a service's request and response. */
const SECTION = /^---\s*$/m;

export type Resolution = { definitions: MessageDefinition[]; source: 'bag' | 'registry' } | { error: string };

/**
 * Finds the definition of each type met in a bag: the definition the bag carries (an MCAP `ros2msg` schema
 * or a .db3 `message_definitions` row) first, since it is what the data was written with; else the
 * daemon's registry. Service event types (`pkg/srv/Name_Event`) are built from their request and response.
 * A type found nowhere resolves to an error, and its messages stay raw bytes.
 */
export class BagTypeResolver {
  #registry: DefinitionsRegistry;
  #cache = new Map<string, Resolution>();
  #readers = new Map<string, MessageReader | null>();

  constructor(registry: DefinitionsRegistry) {
    this.#registry = registry;
  }

  resolve(type: string, schema?: { encoding: string; text: string }): Resolution {
    const key = `${type}\0${schema?.text ?? ''}`;
    let found = this.#cache.get(key);
    if (!found) {
      found = this.#resolve(type, schema);
      this.#cache.set(key, found);
    }
    return found;
  }

  /** A cached CDR reader for the type, or undefined when it can't be resolved. */
  reader(type: string, schema?: { encoding: string; text: string }): MessageReader | undefined {
    const key = `${type}\0${schema?.text ?? ''}`;
    let reader = this.#readers.get(key);
    if (reader === undefined) {
      const r = this.resolve(type, schema);
      reader = 'error' in r ? null : new MessageReader(r.definitions);
      this.#readers.set(key, reader);
    }
    return reader ?? undefined;
  }

  #resolve(type: string, schema?: { encoding: string; text: string }): Resolution {
    let bagProblem: string | undefined;
    const event = /^(.+)\/srv\/(.+)_Event$/.exec(type);
    if (schema && schema.encoding === 'ros2msg' && event && SECTION.test(schema.text)) {
      const built = this.#serviceEventFromSchema(type, `${event[1]}/srv/${event[2]}`, schema.text);
      if (!('error' in built)) return built;
      bagProblem = built.error;
    } else if (schema && schema.encoding === 'ros2msg' && schema.text.trim() !== '') {
      try {
        const definitions = parse(schema.text, { ros2: true });
        // A service's text (`request --- response`) is not a message: rosbag2 stores it for _Event types.
        if (!/^---\s*$/m.test(schema.text)) {
          definitions[0] = { ...definitions[0]!, name: type };
          new MessageReader(definitions); // fails now, not on the first message, if a dependency is missing
          return { definitions, source: 'bag' };
        }
      } catch (error) {
        bagProblem = errorText(error);
      }
    }
    try {
      return { definitions: this.#registry.resolve(type).definitions, source: 'registry' };
    } catch (error) {
      let eventProblem: string | undefined;
      if (event) {
        const built = this.#serviceEvent(type, `${event[1]}/srv/${event[2]}`);
        if (!('error' in built)) return built;
        eventProblem = built.error;
      }
      const why = [
        bagProblem && `the bag's own definition did not parse: ${bagProblem}`,
        eventProblem && `building it from the service's request and response failed: ${eventProblem}`,
      ].filter(Boolean);
      return { error: `${errorText(error)}${why.length > 0 ? ` (${why.join('; ')})` : ''}` };
    }
  }

  /**
   * A service event from the service's own text as rosbag2 stores it for `_Event` types: `request --- response`,
   * then the types they use after `===` lines (`MSG: pkg/Name`). ServiceEventInfo comes from the registry
   * when the bag does not carry it.
   */
  #serviceEventFromSchema(type: string, service: string, text: string): Resolution {
    try {
      const [root = '', ...deps] = text.split(/^=+\s*$/m);
      const [request = '', response = '', ...rest] = root.split(SECTION);
      if (rest.length > 0) throw new Error(`the service's text has ${rest.length + 1} \`---\` lines, not one`);
      const depText = deps.map((d) => `${'='.repeat(80)}\n${d.trim()}\n`).join('');
      const part = (name: string, body: string): MessageDefinition[] => {
        const defs = parse(`${body.trim()}\n${depText}`, { ros2: true });
        defs[0] = { ...defs[0]!, name };
        return defs;
      };
      const info = deps.some((d) => /^\s*MSG:\s*service_msgs\/(msg\/)?ServiceEventInfo\s*$/m.test(d))
        ? []
        : this.#registry.resolve('service_msgs/msg/ServiceEventInfo').definitions;
      const seen = new Set<string>();
      const all = [
        eventRoot(type, service),
        ...part(`${service}_Request`, request),
        ...part(`${service}_Response`, response),
        ...info,
      ];
      const definitions = all.filter((d) => (seen.has(d.name!) ? false : (seen.add(d.name!), true)));
      new MessageReader(definitions); // fails now, not on the first message, if a type is missing
      return { definitions, source: 'bag' };
    } catch (error) {
      return { error: errorText(error) };
    }
  }

  /** An error (kept for the import's report) when the service's request or response type is not known. */
  #serviceEvent(type: string, service: string): Resolution {
    try {
      const parts = ['service_msgs/msg/ServiceEventInfo', `${service}_Request`, `${service}_Response`].map(
        (t) => this.#registry.resolve(t).definitions,
      );
      const root = eventRoot(type, service);
      const seen = new Set<string>();
      const deps = parts.flat().filter((d) => (seen.has(d.name!) ? false : (seen.add(d.name!), true)));
      return { definitions: [root, ...deps], source: 'registry' };
    } catch (error) {
      return { error: errorText(error) };
    }
  }
}
