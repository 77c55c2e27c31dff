import { errorText } from '../util/index.ts';
import { JointLimitsError, type JointLimit, type JointLimits } from './joint-frame.ts';
import { scanXml, XmlSyntaxError } from './urdf-xml.ts';

/**
 * The most text a robot description may be. Real ones are tens of kB (meshes are files they name, not text they
 * hold); an arm with inline geometry a few MB. Past this it is not a description but a flood.
 */
export const MAX_URDF_CHARS = 16 * 1024 * 1024;

const COMMANDABLE = new Set(['revolute', 'prismatic', 'continuous']);
const UNCOMMANDABLE: Readonly<Record<string, string>> = {
  fixed: 'a fixed joint',
  floating: 'a floating joint (six degrees of freedom, no one position)',
  planar: 'a planar joint (three degrees of freedom, no one position)',
};
const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

interface JointElement {
  name: string | undefined;
  type: string | undefined;
  limit: ReadonlyMap<string, string> | undefined;
  mimic: string | undefined;
}

/**
 * The joint limits a URDF (`<robot>`) gives: each `<joint name type>` of the robot, with its `<limit lower upper
 * velocity>`. A revolute or prismatic joint must have lower and upper; a continuous one has none (±Infinity);
 * a velocity not given (or 0, as some exporters write for "not set") is Infinity. A fixed, floating or planar
 * joint, and one that mimics another, is kept but marked not commandable. `where` names the file or topic in
 * errors. Throws a JointLimitsError: the text does not parse, is no URDF, has no joints, or a joint lacks what
 * it needs (every such joint is listed).
 */
export function parseUrdfLimits(xml: string, where: string): JointLimits {
  if (xml.length > MAX_URDF_CHARS)
    throw new JointLimitsError(where, [
      `${(xml.length / 2 ** 20).toFixed(1)} M characters: a robot description may be at most ${MAX_URDF_CHARS / 2 ** 20} M (is it a URDF?)`,
    ]);
  const joints: JointElement[] = [];
  let root: string | undefined;
  let current: JointElement | undefined;
  try {
    scanXml(xml, {
      open(name, attributes, path) {
        if (path.length === 0) root = name;
        else if (path.length === 1 && name === 'joint' && root === 'robot') {
          current = {
            name: attributes.get('name'),
            type: attributes.get('type'),
            limit: undefined,
            mimic: undefined,
          };
          joints.push(current);
        } else if (path.length === 2 && current) {
          // A joint's limit and mimic; the joints a <transmission> or <gazebo> names are other elements.
          if (name === 'limit') current.limit = attributes;
          else if (name === 'mimic') current.mimic = attributes.get('joint') ?? '';
        }
      },
      close(name, path) {
        if (path.length === 1 && name === 'joint') current = undefined;
      },
    });
  } catch (error) {
    const what = error instanceof XmlSyntaxError ? error.message : errorText(error);
    throw new JointLimitsError(where, [`not well-formed XML (${what}): give the robot's URDF`]);
  }
  if (root !== 'robot')
    throw new JointLimitsError(where, [`the root element is <${root}>, not <robot>: give the robot's URDF`]);
  if (joints.length === 0)
    throw new JointLimitsError(where, [
      'no <joint> in <robot>: give the URDF of the robot with its joints (a .xacro file must be expanded first: xacro robot.urdf.xacro > robot.urdf)',
    ]);
  const limits = new Map<string, JointLimit>();
  const problems: string[] = [];
  joints.forEach((joint, i) => {
    const label = joint.name === undefined ? `<joint> number ${i + 1}` : `joint ${JSON.stringify(joint.name)}`;
    if (joint.name === undefined || joint.name === '') return problems.push(`${label} has no name`);
    if (limits.has(joint.name)) return problems.push(`${label} is defined twice`);
    const read = jointLimit(joint, label, problems);
    if (read) limits.set(joint.name, read);
  });
  if (problems.length > 0) throw new JointLimitsError(where, problems);
  if (![...limits.values()].some((limit) => limit.uncommandable === undefined))
    throw new JointLimitsError(where, [
      'no joint that can be commanded (every joint is fixed, floating, planar or a mimic): give the URDF of the arm',
    ]);
  return limits;
}

function jointLimit(joint: JointElement, label: string, problems: string[]): JointLimit | undefined {
  const type = joint.type;
  if (type === undefined) {
    problems.push(`${label} has no type`);
    return undefined;
  }
  const uncommandable = UNCOMMANDABLE[type];
  if (uncommandable !== undefined) return { lower: 0, upper: 0, velocity: 0, uncommandable };
  if (!COMMANDABLE.has(type)) {
    problems.push(
      `${label} has type ${JSON.stringify(type)}: URDF's joint types are revolute, continuous, prismatic, fixed, floating, planar`,
    );
    return undefined;
  }
  const attribute = (key: string): number | undefined => {
    const text = joint.limit?.get(key);
    if (text === undefined) return undefined;
    if (NUMBER.test(text)) return Number(text);
    problems.push(`${label}: <limit ${key}="${text}"> is not a number`);
    return undefined;
  };
  const velocity = attribute('velocity');
  const effort = attribute('effort');
  const common = {
    velocity: velocity === undefined || velocity <= 0 ? Infinity : velocity,
    effort: effort === undefined || effort <= 0 ? Infinity : effort,
  };
  const mimic =
    joint.mimic === undefined
      ? undefined
      : { uncommandable: `it mimics ${joint.mimic === '' ? 'another joint' : JSON.stringify(joint.mimic)}` };
  if (type === 'continuous') return { lower: -Infinity, upper: Infinity, ...common, ...mimic };
  const lower = attribute('lower');
  const upper = attribute('upper');
  if (joint.limit === undefined) {
    problems.push(`${label} is ${type} with no <limit>: add <limit lower=".." upper=".." velocity=".."/> to it`);
    return undefined;
  }
  const missing = ['lower', 'upper'].filter((key) => !joint.limit!.has(key));
  if (missing.length > 0) problems.push(`${label} is ${type} and its <limit> lacks ${missing.join(' and ')}: add it`);
  if (lower === undefined || upper === undefined) return undefined;
  if (lower > upper) {
    problems.push(`${label}: <limit lower="${lower}"> is above upper="${upper}"`);
    return undefined;
  }
  return { lower, upper, ...common, ...mimic };
}
