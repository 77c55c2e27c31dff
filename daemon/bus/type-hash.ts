import { createHash } from 'node:crypto';
import { canonicalType, type DefinitionsRegistry } from './definitions.ts';

/**
 * RIHS01 type description hashes (REP-2011), as rosidl computes them at build time and rosbag2 writes
 * them into metadata.yaml (`type_description_hash`) and MCAP channels (`topic_type_hash`): SHA-256 of the
 * JSON of the type's description and of every type it references (sorted by name), fields without their
 * default values, in Python's json.dumps form with `, ` and `: ` separators.
 *
 * The description is read from the .msg text, not from the parsed definition, which turns `byte` into
 * `uint8` (they hash differently). A type whose text, or a dependency's, is not known gets no hash.
 */

interface FieldType {
  type_id: number;
  capacity: number;
  string_capacity: number;
  nested_type_name: string;
}

interface IndividualType {
  type_name: string;
  fields: { name: string; type: FieldType }[];
}

/**
 * type_description_interfaces/msg/FieldType ids of the scalar types; arrays add 48, bounded sequences 96, sequences
 * 144.
 */
const SCALAR_IDS: Record<string, number> = {
  int8: 2,
  uint8: 3,
  int16: 4,
  uint16: 5,
  int32: 6,
  uint32: 7,
  int64: 8,
  uint64: 9,
  float32: 10,
  float64: 11,
  char: 13,
  byte: 16,
  bool: 15,
  string: 17,
  wstring: 18,
};
const NESTED = 1;
const BOUNDED_STRING = 21;
const BOUNDED_WSTRING = 22;
const ARRAY = 48;
const BOUNDED_SEQUENCE = 96;
const UNBOUNDED_SEQUENCE = 144;

/** `RIHS01_<64 hex>` for `type`, or undefined when the .msg text of it or of a type it uses is unknown. */
/** A service type: `pkg/srv/Name`, or an action's send_goal and get_result services (`pkg/action/Name_SendGoal`). */
const SERVICE_TYPE = /^[^/]+\/(srv\/[^/]+|action\/[^/]+_(SendGoal|GetResult))$/;

export function typeDescriptionHash(registry: DefinitionsRegistry, type: string): string | undefined {
  const root = canonicalType(type);
  // rosidl reads a service's types (and the messages they use, ServiceEventInfo's `char[16] client_gid` among
  // them) with `char` as uint8, as rosidl_adapter maps it; a message type's own hash keeps FIELD_TYPE_CHAR, as
  // the hashes ROS 2 writes for std_msgs/Char show. Checked against rosbag2's recorded service events and
  // rmw_zenoh's key for example_interfaces/srv/AddTwoInts.
  const charId = SERVICE_TYPE.test(root) ? SCALAR_IDS.uint8! : SCALAR_IDS.char!;
  const described = new Map<string, IndividualType>();
  const pending = [root];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (described.has(name)) continue;
    const text = registry.messageText(name);
    const individual = text === undefined ? describeService(registry, name) : describe(name, text, charId);
    if (!individual) return undefined;
    described.set(name, individual);
    for (const f of individual.fields) if (f.type.nested_type_name) pending.push(f.type.nested_type_name);
  }
  const referenced = [...described.keys()].filter((n) => n !== root).sort();
  const json = `{"type_description": ${individualJson(described.get(root)!)}, "referenced_type_descriptions": [${referenced.map((n) => individualJson(described.get(n)!)).join(', ')}]}`;
  return `RIHS01_${createHash('sha256').update(json, 'utf8').digest('hex')}`;
}

function individualJson(t: IndividualType): string {
  const fields = t.fields.map(
    (f) =>
      `{"name": ${JSON.stringify(f.name)}, "type": {"type_id": ${f.type.type_id}, "capacity": ${f.type.capacity}, "string_capacity": ${f.type.string_capacity}, "nested_type_name": ${JSON.stringify(f.type.nested_type_name)}}}`,
  );
  return `{"type_name": ${JSON.stringify(t.type_name)}, "fields": [${fields.join(', ')}]}`;
}

/**
 * A service type (`pkg/srv/Name`) as rosidl describes it: a structure of its request, response and event
 * messages (rmw_zenoh keys a service by this hash). Undefined when `name` is not a service the registry holds.
 */
function describeService(registry: DefinitionsRegistry, name: string): IndividualType | undefined {
  if (!SERVICE_TYPE.test(name)) return undefined;
  const parts = ['Request', 'Response', 'Event'] as const;
  if (parts.some((p) => registry.messageText(`${name}_${p}`) === undefined)) return undefined;
  const nested = (type: string): FieldType => ({
    type_id: NESTED,
    capacity: 0,
    string_capacity: 0,
    nested_type_name: type,
  });
  return {
    type_name: name,
    fields: [
      { name: 'request_message', type: nested(`${name}_Request`) },
      { name: 'response_message', type: nested(`${name}_Response`) },
      { name: 'event_message', type: nested(`${name}_Event`) },
    ],
  };
}

/** The fields of one .msg text as rosidl sees them (constants left out); undefined if a line is not understood. */
function describe(typeName: string, text: string, charId: number): IndividualType | undefined {
  const pkg = typeName.split('/')[0]!;
  const fields: IndividualType['fields'] = [];
  for (const raw of text.split('\n')) {
    if (/^={10,}\s*$/.test(raw)) break; // a full definition's dependencies follow: the root ends here
    const line = stripComment(raw).trim();
    if (line === '') continue;
    const m = /^(\S+)\s+([A-Za-z][A-Za-z0-9_]*)(\s*=)?/.exec(line);
    if (!m) return undefined;
    if (m[3]) continue; // a constant: not a member of the structure
    const type = fieldType(m[1]!, pkg, charId);
    if (!type) return undefined;
    fields.push({ name: m[2]!, type });
  }
  // rosidl gives an empty message one member, so that every structure has one.
  if (fields.length === 0)
    fields.push({
      name: 'structure_needs_at_least_one_member',
      type: { type_id: SCALAR_IDS.uint8!, capacity: 0, string_capacity: 0, nested_type_name: '' },
    });
  return { type_name: typeName, fields };
}

function fieldType(token: string, pkg: string, charId: number): FieldType | undefined {
  const m = /^([^[\]]+)(?:\[(<=)?(\d*)\])?$/.exec(token);
  if (!m) return undefined;
  const [, base, bounded, size] = m;
  let id: number;
  let stringCapacity = 0;
  let nested = '';
  const str = /^(w?string)(?:<=(\d+))?$/.exec(base!);
  if (str) {
    const wide = str[1] === 'wstring';
    if (str[2] !== undefined) {
      id = wide ? BOUNDED_WSTRING : BOUNDED_STRING;
      stringCapacity = Number(str[2]);
    } else {
      id = SCALAR_IDS[str[1]!]!;
    }
  } else if (base === 'char') {
    id = charId;
  } else if (SCALAR_IDS[base!] !== undefined) {
    id = SCALAR_IDS[base!]!;
  } else if (/^[A-Za-z][A-Za-z0-9_]*(\/[A-Za-z][A-Za-z0-9_]*){0,2}$/.test(base!)) {
    id = NESTED;
    nested = base!.includes('/') ? canonicalType(base!) : `${pkg}/msg/${base}`;
  } else {
    return undefined;
  }
  let capacity = 0;
  if (token.includes('[')) {
    if (bounded) {
      id += BOUNDED_SEQUENCE;
      capacity = Number(size);
    } else if (size !== '') {
      id += ARRAY;
      capacity = Number(size);
    } else {
      id += UNBOUNDED_SEQUENCE;
    }
  }
  return { type_id: id, capacity, string_capacity: stringCapacity, nested_type_name: nested };
}

/** A line without its comment; a `#` inside a quoted default value is not one. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}
