import core from './core-interfaces/ros2-core.json' with { type: 'json' };

export type InterfaceKind = 'msg' | 'srv' | 'action';

/** One message type an interface file defines, with its .msg text. */
export interface InterfaceType {
  type: string;
  text: string;
}

const SECTION = /^---\s*$/m;

/**
 * The message types an interface file defines, as rosidl generates them: a .msg one; a .srv its _Request
 * and _Response, and the _Event a service's introspection publishes (and rosbag2 records); an .action its
 * _Goal, _Result and _Feedback, the _SendGoal and _GetResult services (with their events) and the
 * _FeedbackMessage. Throws when the file has the wrong number of `---` sections for its kind.
 */
export function interfaceTypes(pkg: string, kind: InterfaceKind, name: string, text: string): InterfaceType[] {
  const base = `${pkg}/${kind}/${name}`;
  if (kind === 'msg') return [{ type: base, text }];
  const sections = text.split(SECTION);
  const want = kind === 'srv' ? 2 : 3;
  if (sections.length !== want) {
    const parts =
      kind === 'srv'
        ? 'a .srv has one `---` line between request and response'
        : 'an .action has two `---` lines between goal, result and feedback';
    throw new Error(`${parts}; this one has ${sections.length - 1}, so it was not loaded`);
  }
  if (kind === 'srv') return service(base, sections[0]!, sections[1]!);
  const [goal, result, feedback] = sections as [string, string, string];
  return [
    { type: `${base}_Goal`, text: goal },
    { type: `${base}_Result`, text: result },
    { type: `${base}_Feedback`, text: feedback },
    ...service(
      `${base}_SendGoal`,
      `unique_identifier_msgs/UUID goal_id\n${base}_Goal goal\n`,
      'bool accepted\nbuiltin_interfaces/Time stamp\n',
    ),
    ...service(`${base}_GetResult`, 'unique_identifier_msgs/UUID goal_id\n', `int8 status\n${base}_Result result\n`),
    { type: `${base}_FeedbackMessage`, text: `unique_identifier_msgs/UUID goal_id\n${base}_Feedback feedback\n` },
  ];
}

function service(base: string, request: string, response: string): InterfaceType[] {
  return [
    { type: `${base}_Request`, text: request },
    { type: `${base}_Response`, text: response },
    {
      type: `${base}_Event`,
      text: `service_msgs/ServiceEventInfo info\n${base}_Request[<=1] request\n${base}_Response[<=1] response\n`,
    },
  ];
}

/** The names interfaceTypes gives a file's types, without parsing it. */
function typeNames(pkg: string, kind: InterfaceKind, name: string): string[] {
  const base = `${pkg}/${kind}/${name}`;
  const srv = (b: string) => [`${b}_Request`, `${b}_Response`, `${b}_Event`];
  if (kind === 'msg') return [base];
  if (kind === 'srv') return srv(base);
  return [
    `${base}_Goal`,
    `${base}_Result`,
    `${base}_Feedback`,
    ...srv(`${base}_SendGoal`),
    ...srv(`${base}_GetResult`),
    `${base}_FeedbackMessage`,
  ];
}

/** A file of the ROS 2 core interface packages (ros2-core.json, see core-interfaces/generate.ts). */
export interface CoreFile {
  pkg: string;
  kind: InterfaceKind;
  name: string;
  text: string;
  source: string;
}

const coreFiles = core.interfaces as Record<string, { text: string; source: string }>;
/** Every type name the core packages define, to the file that defines it. */
const coreIndex = new Map<string, CoreFile>();
for (const [key, { text, source }] of Object.entries(coreFiles)) {
  const [pkg, kind, name] = key.split('/') as [string, InterfaceKind, string];
  const file = { pkg, kind, name, text, source };
  for (const type of typeNames(pkg, kind, name)) coreIndex.set(type, file);
}

/** The core file that defines `type` (canonical `pkg/kind/Name`), if one does. */
export function coreFileOf(type: string): CoreFile | undefined {
  return coreIndex.get(type);
}

/** Every type the core packages define. */
export function coreTypes(): string[] {
  return [...coreIndex.keys()];
}

/** The repositories and commits the core packages were generated from. */
export const CORE_PINS = core.pins;
