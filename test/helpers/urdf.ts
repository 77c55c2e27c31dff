/**
 * A strict reader of URDF for tests, with no XML library: well-formed XML (one root, balanced tags, quoted and
 * unique attributes, known entities, no stray text), then what urdfdom (robot_state_publisher's parser)
 * rejects, plus what it lets through but draws wrong (a continuous joint without an axis spins about x; a mesh
 * needs a file a viewer cannot fetch). It computes frames with rotation matrices of its own, so a test can
 * check the publisher's quaternions against it.
 */

export type XmlElement = { name: string; attrs: Record<string, string>; children: XmlElement[] };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_][\w.:-]*/;

export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`XML: ${what} at offset ${i}: ${JSON.stringify(text.slice(i, i + 30))}`);
  };
  const skip = () => {
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))![0].length;
      i += ws;
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) fail('unterminated comment');
        i = end + 3;
      } else return;
    }
  };
  const unescape = (v: string) =>
    v.replace(/&([a-z]+);|&/g, (m, e: string | undefined) => {
      if (!e || !(e in ENTITIES)) fail(`bad entity ${m}`);
      return ENTITIES[e!]!;
    });
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  const element = (): XmlElement => {
    if (text[i] !== '<') fail('text outside an element');
    i++;
    const name = NAME.exec(text.slice(i))?.[0] ?? fail('element name expected');
    i += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = /^\s*/.exec(text.slice(i))![0].length;
      i += ws;
      if (text.startsWith('/>', i)) {
        i += 2;
        return { name, attrs, children: [] };
      }
      if (text[i] === '>') {
        i++;
        break;
      }
      if (ws === 0) fail('whitespace expected before an attribute');
      const m =
        /^([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(i)) ?? fail(`bad attribute in <${name}>`);
      if (m[1]! in attrs) fail(`attribute ${m[1]} twice in <${name}>`);
      attrs[m[1]!] = unescape(m[3] ?? m[4]!);
      i += m[0].length;
    }
    const children: XmlElement[] = [];
    for (;;) {
      skip();
      if (i >= text.length) fail(`<${name}> not closed`);
      if (text.startsWith('</', i)) {
        const close =
          new RegExp(`^</${name.replace(/[.]/g, '\\.')}\\s*>`).exec(text.slice(i)) ?? fail(`</${name}> expected`);
        i += close[0].length;
        return { name, attrs, children };
      }
      children.push(element());
    }
  };
  skip();
  const root = element();
  skip();
  if (i !== text.length) fail('content after the root element');
  return root;
}

export type Vec3 = [number, number, number];
export type Mat3 = [Vec3, Vec3, Vec3];
export type Geometry =
  { box: Vec3 } | { cylinder: { radius: number; length: number } } | { sphere: { radius: number } };
export type Shape = { xyz: Vec3; rpy: Vec3; geometry: Geometry };
export type Link = { name: string; visuals: Shape[]; collisions: Shape[] };
export type Joint = { name: string; type: string; parent: string; child: string; xyz: Vec3; rpy: Vec3; axis?: Vec3 };
export type Urdf = { name: string; links: Map<string, Link>; joints: Joint[]; root: string };

const JOINT_TYPES = ['revolute', 'continuous', 'prismatic', 'fixed', 'floating', 'planar'];

function numbers(text: string | undefined, n: number, where: string): number[] {
  const parts = (text ?? '').trim().split(/\s+/).map(Number);
  if (parts.length !== n || !parts.every(Number.isFinite))
    throw new Error(`URDF: ${where}: expected ${n} numbers, got ${JSON.stringify(text)}`);
  return parts;
}

const only = (e: XmlElement, name: string, where: string, required = true): XmlElement | undefined => {
  const found = e.children.filter((c) => c.name === name);
  if (found.length > 1 || (required && found.length === 0))
    throw new Error(`URDF: ${where}: expected ${required ? 'one' : 'at most one'} <${name}>, got ${found.length}`);
  return found[0];
};

function origin(e: XmlElement, where: string): { xyz: Vec3; rpy: Vec3 } {
  const o = only(e, 'origin', where, false);
  return {
    xyz: (o?.attrs.xyz !== undefined ? numbers(o.attrs.xyz, 3, `${where} origin xyz`) : [0, 0, 0]) as Vec3,
    rpy: (o?.attrs.rpy !== undefined ? numbers(o.attrs.rpy, 3, `${where} origin rpy`) : [0, 0, 0]) as Vec3,
  };
}

function positive(text: string | undefined, where: string): number {
  const [v] = numbers(text, 1, where);
  if (!(v! > 0)) throw new Error(`URDF: ${where} must be > 0, got ${text}`);
  return v!;
}

function geometry(e: XmlElement, where: string): Geometry {
  const g = only(e, 'geometry', where)!;
  if (g.children.length !== 1) throw new Error(`URDF: ${where}: <geometry> needs exactly one shape`);
  const s = g.children[0]!;
  if (s.name === 'box') {
    const size = numbers(s.attrs.size, 3, `${where} box size`);
    if (!size.every((v) => v > 0)) throw new Error(`URDF: ${where}: box size must be > 0`);
    return { box: size as Vec3 };
  }
  if (s.name === 'cylinder')
    return {
      cylinder: {
        radius: positive(s.attrs.radius, `${where} cylinder radius`),
        length: positive(s.attrs.length, `${where} cylinder length`),
      },
    };
  if (s.name === 'sphere') return { sphere: { radius: positive(s.attrs.radius, `${where} sphere radius`) } };
  throw new Error(
    `URDF: ${where}: shape <${s.name}> (only box, cylinder and sphere: a mesh needs a file a viewer may not reach)`,
  );
}

/** Parses and checks a URDF; throws naming what urdfdom would reject (or draw wrong). */
export function parseUrdf(text: string): Urdf {
  const robot = parseXml(text);
  if (robot.name !== 'robot' || !robot.attrs.name) throw new Error('URDF: the root must be <robot name="...">');
  const materials = new Set(
    robot.children
      .filter((c) => c.name === 'material' && only(c, 'color', `material ${c.attrs.name}`))
      .map((c) => c.attrs.name),
  );
  const links = new Map<string, Link>();
  for (const l of robot.children.filter((c) => c.name === 'link')) {
    const name = l.attrs.name;
    if (!name) throw new Error('URDF: a <link> without a name');
    if (links.has(name)) throw new Error(`URDF: link ${name} twice`);
    const shape = (e: XmlElement, kind: string): Shape => ({
      ...origin(e, `${name} ${kind}`),
      geometry: geometry(e, `${name} ${kind}`),
    });
    const visuals = l.children.filter((c) => c.name === 'visual');
    for (const v of visuals) {
      const m = only(v, 'material', `${name} visual`, false);
      if (m && !materials.has(m.attrs.name) && !only(m, 'color', `${name} material`, false))
        throw new Error(`URDF: ${name}: material ${m.attrs.name} is not defined`);
    }
    links.set(name, {
      name,
      visuals: visuals.map((v) => shape(v, 'visual')),
      collisions: l.children.filter((c) => c.name === 'collision').map((c) => shape(c, 'collision')),
    });
  }
  const joints: Joint[] = [];
  const parentOf = new Map<string, string>();
  for (const j of robot.children.filter((c) => c.name === 'joint')) {
    const { name, type } = j.attrs;
    if (!name) throw new Error('URDF: a <joint> without a name');
    if (joints.some((k) => k.name === name)) throw new Error(`URDF: joint ${name} twice`);
    if (!type || !JOINT_TYPES.includes(type))
      throw new Error(`URDF: joint ${name}: type ${JSON.stringify(type)} is not one of ${JOINT_TYPES.join(', ')}`);
    const parent = only(j, 'parent', `joint ${name}`)!.attrs.link;
    const child = only(j, 'child', `joint ${name}`)!.attrs.link;
    for (const l of [parent, child])
      if (!l || !links.has(l)) throw new Error(`URDF: joint ${name}: link ${JSON.stringify(l)} is not defined`);
    if (parentOf.has(child!)) throw new Error(`URDF: link ${child} has two parents`);
    parentOf.set(child!, parent!);
    const axisEl = only(j, 'axis', `joint ${name}`, false);
    const axis = axisEl ? (numbers(axisEl.attrs.xyz, 3, `joint ${name} axis`) as Vec3) : undefined;
    if (type !== 'fixed' && type !== 'floating' && (!axis || Math.hypot(...axis) === 0))
      throw new Error(`URDF: ${type} joint ${name} needs a non-zero <axis>`);
    if ((type === 'revolute' || type === 'prismatic') && !only(j, 'limit', `joint ${name}`, false))
      throw new Error(`URDF: ${type} joint ${name} needs a <limit>`);
    joints.push({
      name,
      type,
      parent: parent!,
      child: child!,
      ...origin(j, `joint ${name}`),
      ...(axis ? { axis } : {}),
    });
  }
  const roots = [...links.keys()].filter((l) => !parentOf.has(l));
  if (roots.length !== 1) throw new Error(`URDF: expected one root link, got ${roots.length}: ${roots.join(', ')}`);
  // Every link reached from the root: with one parent each, a link in a cycle is never reached.
  const reached = new Set<string>();
  const walk = (l: string) => {
    reached.add(l);
    for (const j of joints.filter((k) => k.parent === l)) walk(j.child);
  };
  walk(roots[0]!);
  if (reached.size !== links.size)
    throw new Error(
      `URDF: links not reached from ${roots[0]} (detached, or in a cycle): ${[...links.keys()].filter((l) => !reached.has(l)).join(', ')}`,
    );
  return { name: robot.attrs.name, links, joints, root: roots[0]! };
}

// Frames as rotation matrices (no quaternions), so they check the publisher's quaternion arithmetic.

export function matMul(a: Mat3, b: Mat3): Mat3 {
  return a.map((row) => [0, 1, 2].map((c) => row[0] * b[0][c]! + row[1] * b[1][c]! + row[2] * b[2][c]!)) as Mat3;
}

export function apply(m: Mat3, v: Vec3): Vec3 {
  return m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]) as Vec3;
}

/** URDF's rpy: fixed axes x, y, z, so R = Rz(yaw) Ry(pitch) Rx(roll). */
export function rpyMatrix([r, p, y]: Vec3): Mat3 {
  const rx: Mat3 = [
    [1, 0, 0],
    [0, Math.cos(r), -Math.sin(r)],
    [0, Math.sin(r), Math.cos(r)],
  ];
  const ry: Mat3 = [
    [Math.cos(p), 0, Math.sin(p)],
    [0, 1, 0],
    [-Math.sin(p), 0, Math.cos(p)],
  ];
  const rz: Mat3 = [
    [Math.cos(y), -Math.sin(y), 0],
    [Math.sin(y), Math.cos(y), 0],
    [0, 0, 1],
  ];
  return matMul(rz, matMul(ry, rx));
}

/** Rotation by `angle` about a unit `axis` (Rodrigues). */
export function axisAngleMatrix([x, y, z]: Vec3, angle: number): Mat3 {
  const n = Math.hypot(x, y, z);
  [x, y, z] = [x / n, y / n, z / n];
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [
    [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
    [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
    [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
  ];
}

export function quaternionMatrix({ x, y, z, w }: { x: number; y: number; z: number; w: number }): Mat3 {
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
}

/** A joint's child frame in its parent's at `position`: origin, then the turn about the axis. */
export function jointFrame(j: Joint, position = 0): { t: Vec3; r: Mat3 } {
  const r = rpyMatrix(j.rpy);
  return { t: j.xyz, r: j.type === 'fixed' || !j.axis ? r : matMul(r, axisAngleMatrix(j.axis, position)) };
}

/** A link's frame in the root link's, with the moving joints at `positions` (0 when not given). */
export function linkFrame(urdf: Urdf, link: string, positions: Record<string, number> = {}): { t: Vec3; r: Mat3 } {
  const j = urdf.joints.find((k) => k.child === link);
  if (!j)
    return {
      t: [0, 0, 0],
      r: [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ],
    };
  const parent = linkFrame(urdf, j.parent, positions);
  const own = jointFrame(j, positions[j.name]);
  const d = apply(parent.r, own.t);
  return { t: [parent.t[0] + d[0], parent.t[1] + d[1], parent.t[2] + d[2]], r: matMul(parent.r, own.r) };
}
