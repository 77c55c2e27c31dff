import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { parse } from '@foxglove/rosmsg';
import { ros2humble, ros2iron, ros2jazzy } from '@foxglove/rosmsg-msgs-common';
import { coreFileOf, coreTypes, interfaceTypes, type InterfaceKind } from './interface-files.ts';
import { errorText } from '../util/index.ts';

const BUILTIN_SETS = { jazzy: ros2jazzy, iron: ros2iron, humble: ros2humble } as const;
export type BuiltinDistro = keyof typeof BUILTIN_SETS | 'none';

const SEPARATOR = '='.repeat(80);
/** The .msg files the built-in sets were made from, shipped in the package. */
const BUILTIN_MSGDEFS = join(
  dirname(createRequire(import.meta.url).resolve('@foxglove/rosmsg-msgs-common/package.json')),
  'msgdefs',
);

/** A resolved type: the root definition first, then every type it depends on (what the CDR codec needs). */
export interface ResolvedType {
  readonly type: string;
  readonly definitions: MessageDefinition[];
}

interface Entry {
  definition: MessageDefinition;
  /** The .msg text as written, when the definition came from a file. */
  text: string | undefined;
  origin: string;
}

export class UnknownTypeError extends Error {
  override name = 'UnknownTypeError';
}

/**
 * Canonical ROS 2 type name `pkg/msg/Name`. Accepts `pkg/Name` (ROS 1 style, used by the built-in set and
 * by older bags) and `pkg/msg/Name`. Services' request/response types keep their `srv` segment.
 */
export function canonicalType(type: string): string {
  const parts = type.split('/');
  if (parts.length === 2) return `${parts[0]}/msg/${parts[1]}`;
  return type;
}

/**
 * Resolves ROS 2 type names to full message definitions. It draws on the built-in set of a distro
 * (@foxglove/rosmsg-msgs-common) and on directories of interface packages laid out as ROS installs them
 * (`<pkg>/msg/*.msg`, `<pkg>/srv/*.srv`), which override the built-in set. Both produce the same shape:
 * `time`/`duration` become `builtin_interfaces/msg/Time`/`Duration`, as in the .msg files.
 */
export class DefinitionsRegistry {
  #entries = new Map<string, Entry>();
  #resolved = new Map<string, ResolvedType>();
  #generation = 0;
  /** Problems met while loading (a .msg that does not parse): reported, never fatal. */
  readonly warnings: string[] = [];

  /** Whether the ROS 2 core interface packages (ros2-core.json) back the built-in set: with every distro. */
  #core: boolean;

  constructor(options: { distro?: BuiltinDistro; dirs?: readonly string[] } = {}) {
    const { distro = 'jazzy', dirs = [] } = options;
    this.#core = distro !== 'none';
    if (distro !== 'none') this.#addBuiltin(distro);
    for (const dir of dirs) this.addDirectory(dir);
  }

  /**
   * Goes up whenever definitions are added or replaced (a SIGHUP's `addDirectory`), so holders of
   * anything built from a resolved type (MessageCodec's readers and writers) know to build it again.
   */
  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.types().length;
  }

  types(): string[] {
    const types = new Set(this.#entries.keys());
    if (this.#core) for (const t of coreTypes()) types.add(t);
    return [...types].sort();
  }

  has(type: string): boolean {
    return this.#entry(canonicalType(type)) !== undefined;
  }

  /**
   * A type's entry: the built-in set's or a directory's, else the ROS 2 core packages', whose file is
   * parsed the first time one of its types is asked for (most of them never are).
   */
  #entry(type: string): Entry | undefined {
    const entry = this.#entries.get(type);
    if (entry || !this.#core) return entry;
    const file = coreFileOf(type);
    if (!file) return undefined;
    try {
      this.#addInterface(file.pkg, file.kind, file.name, file.text, `ros2 core: ${file.source}`, false);
    } catch (error) {
      this.warnings.push(`${file.source}: ${errorText(error)}`);
    }
    return this.#entries.get(type);
  }

  /**
   * The .msg text a type was defined by, as written (comments, `byte` vs `uint8`, bounds): the file's, the
   * bag schema's, or for the built-in set the .msg file @foxglove/rosmsg-msgs-common ships for the distro.
   * Undefined when there is none (the parsed definition alone loses `byte`, which type hashes need).
   */
  messageText(type: string): string | undefined {
    const entry = this.#entry(canonicalType(type));
    if (!entry) return undefined;
    if (entry.text !== undefined) return entry.text;
    if (!(entry.origin in BUILTIN_SETS)) return undefined;
    const [pkg, kind, name] = canonicalType(type).split('/');
    const path = join(BUILTIN_MSGDEFS, `ros2${entry.origin}`, pkg!, kind!, `${name}.msg`);
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }

  /** Where a type's definition came from (`jazzy` or a file path). */
  origin(type: string): string | undefined {
    return this.#entry(canonicalType(type))?.origin;
  }

  /**
   * Adds every interface package under `dir`. `dir` may itself be a package, a folder of packages (a ROS
   * `share` folder), or a folder of such folders, to any depth.
   */
  addDirectory(dir: string): number {
    let added = 0;
    const walk = (path: string, depth: number): void => {
      let names: string[];
      try {
        names = readdirSync(path);
      } catch (error) {
        throw new Error(`message definitions: cannot read directory ${path}: ${errorText(error)}`);
      }
      for (const name of names) {
        const full = join(path, name);
        if (!isDirectory(full)) continue;
        if (name === 'msg' || name === 'srv' || name === 'action') added += this.#addPackageFiles(full, name, path);
        else if (depth < 4 && !name.startsWith('.')) walk(full, depth + 1);
      }
    };
    walk(dir, 0);
    this.#changed();
    return added;
  }

  /** Adds one definition from .msg text (used for schemas found inside bags). */
  addMessageText(type: string, text: string, origin: string): void {
    this.#setText(type, text, origin);
    this.#changed();
  }

  #setText(type: string, text: string, origin: string): void {
    const canonical = canonicalType(type);
    const pkg = canonical.split('/')[0]!;
    const defs = parse(text, { ros2: true, skipTypeFixup: true });
    const root = defs[0]!;
    this.#entries.set(canonical, {
      definition: { name: canonical, definitions: qualifyFields(root.definitions, pkg) },
      text,
      origin,
    });
  }

  /** Every type an interface file defines (see interfaceTypes); `replace` false keeps types already known. */
  #addInterface(pkg: string, kind: InterfaceKind, name: string, text: string, origin: string, replace = true): number {
    const types = interfaceTypes(pkg, kind, name, text);
    for (const t of types) if (replace || !this.#entries.has(t.type)) this.#setText(t.type, t.text, origin);
    return types.length;
  }

  /**
   * The root definition followed by all dependencies. Throws UnknownTypeError naming what is missing, or
   * naming the cycle for a type that contains itself other than through a sequence (`A { B b }`,
   * `B { A a }`): such a message has no end, and the CDR writer would recurse until the stack overflows.
   */
  resolve(type: string): ResolvedType {
    const canonical = canonicalType(type);
    const cached = this.#resolved.get(canonical);
    if (cached) return cached;
    const order: MessageDefinition[] = [];
    const seen = new Set<string>();
    const visit = (name: string, from: string | undefined): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const entry = this.#entry(name);
      if (!entry)
        throw new UnknownTypeError(
          `no definition for ${name}${from ? ` (needed by ${from})` : ''}; ${missingHint(name)}`,
        );
      order.push(entry.definition);
      for (const field of entry.definition.definitions) {
        if (field.isComplex === true && !field.isConstant) visit(field.type, name);
      }
    };
    visit(canonical, undefined);
    const cycle = endlessCycle(order);
    if (cycle)
      throw new UnknownTypeError(
        `${canonical} contains itself other than through a sequence (${cycle.join(' -> ')}), so a message of it would never end`,
      );
    const resolved = { type: canonical, definitions: order };
    this.#resolved.set(canonical, resolved);
    return resolved;
  }

  /**
   * The full definition text in the `ros2msg` format of MCAP and rosbag2: the root's .msg text, then each
   * dependency after a line of 80 `=` and a `MSG: pkg/Name` line (the form rosbag2 writes).
   */
  schemaText(type: string): string {
    const { definitions } = this.resolve(type);
    const parts: string[] = [];
    definitions.forEach((definition, i) => {
      const entry = this.#entries.get(definition.name!)!;
      const text = (entry.text ?? stringifyDefinition(definition)).trimEnd();
      parts.push(i === 0 ? text : `${SEPARATOR}\nMSG: ${definition.name!.replace('/msg/', '/')}\n${text}`);
    });
    return `${parts.join('\n')}\n`;
  }

  #changed(): void {
    this.#resolved.clear();
    this.#generation++;
  }

  #addBuiltin(distro: keyof typeof BUILTIN_SETS): void {
    for (const [name, def] of Object.entries(BUILTIN_SETS[distro] as Record<string, MessageDefinition>)) {
      const canonical = canonicalType(name);
      const pkg = canonical.split('/')[0]!;
      this.#entries.set(canonical, {
        definition: { name: canonical, definitions: qualifyFields(def.definitions, pkg) },
        text: undefined,
        origin: distro,
      });
    }
  }

  #addPackageFiles(dir: string, kind: InterfaceKind, pkgDir: string): number {
    const pkg = pkgDir.split(/[\\/]/).filter(Boolean).pop()!;
    let added = 0;
    for (const file of readdirSync(dir)) {
      const path = join(dir, file);
      if (!file.endsWith(`.${kind}`)) continue;
      try {
        added += this.#addInterface(pkg, kind, file.slice(0, -kind.length - 1), readFileSync(path, 'utf8'), path);
      } catch (error) {
        this.warnings.push(`${path}: ${errorText(error)}`);
      }
    }
    return added;
  }
}

/**
 * A cycle of types that contain each other through plain fields or fixed-size arrays: a message of them
 * has no end. A cycle through a sequence (`Node[] children`) can end with an empty one, so it is not one.
 */
function endlessCycle(definitions: readonly MessageDefinition[]): string[] | undefined {
  const fields = new Map(definitions.map((d) => [d.name!, d.definitions]));
  const done = new Set<string>();
  const path: string[] = [];
  const walk = (name: string): string[] | undefined => {
    const back = path.indexOf(name);
    if (back >= 0) return [...path.slice(back), name];
    if (done.has(name)) return undefined;
    path.push(name);
    for (const f of fields.get(name) ?? []) {
      if (f.isComplex !== true || f.isConstant || (f.isArray === true && f.arrayLength === undefined)) continue;
      const cycle = walk(f.type);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(name);
    return undefined;
  };
  return walk(definitions[0]!.name!);
}

/**
 * What to do about a missing type. A bare `Header` in a .msg is its own package's; std_msgs/Header is what is usually
 * meant.
 */
function missingHint(name: string): string {
  const [pkg, , base] = name.split('/');
  if (base === 'Header' && pkg !== 'std_msgs')
    return `a bare \`Header\` in a .msg of ${pkg} means ${name}: for the standard one write \`std_msgs/Header\``;
  return 'add its package to bus.definitions.dirs';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link is not a package
  }
}

/** Gives every complex field a canonical `pkg/msg/Name` type; `time`/`duration` become builtin_interfaces. */
function qualifyFields(fields: MessageDefinitionField[], pkg: string): MessageDefinitionField[] {
  return fields.map((field) => {
    if (!field.isConstant && (field.type === 'time' || field.type === 'duration')) {
      const name = field.type === 'time' ? 'Time' : 'Duration';
      return { ...field, type: `builtin_interfaces/msg/${name}`, isComplex: true };
    }
    if (field.isComplex !== true) return field;
    const type = field.type.includes('/') ? canonicalType(field.type) : `${pkg}/msg/${field.type}`;
    return { ...field, type };
  });
}

/** .msg text for a definition that came without one (the built-in set). */
function stringifyDefinition(definition: MessageDefinition): string {
  const lines: string[] = [];
  for (const f of definition.definitions) {
    const type = f.isComplex === true ? f.type.replace('/msg/', '/') : f.type;
    const bounded = f.upperBound !== undefined && f.type === 'string' ? `string<=${f.upperBound}` : type;
    const array = f.isArray
      ? f.arrayLength !== undefined
        ? `[${f.arrayLength}]`
        : f.arrayUpperBound !== undefined
          ? `[<=${f.arrayUpperBound}]`
          : '[]'
      : '';
    if (f.isConstant) {
      lines.push(`${bounded}${array} ${f.name}=${f.valueText ?? JSON.stringify(f.value)}`);
    } else {
      const dflt = f.defaultValue !== undefined ? ` ${JSON.stringify(f.defaultValue)}` : '';
      lines.push(`${bounded}${array} ${f.name}${dflt}`);
    }
  }
  return lines.join('\n');
}
