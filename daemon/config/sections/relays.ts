import Type, { type Static } from 'typebox';
import { RosName } from '../../names/index.ts';
import { Section } from '../section.ts';

/**
 * Config section of the relays (docs/joined-graphs.md): the daemon joining two graphs it is a node of (a DDS graph
 * through rclnodejs or zenoh-bridge-ros2dds, and an rmw_zenoh graph), carrying the topics, services and actions
 * named here from one to the other through its bus, where the policy chain and the recorder see them. Each relay
 * names its two sides: a topic's samples go from `from` to `to`; a service's or action's requests go from the
 * clients on `from` to the server on `to`, and the replies back.
 */

const SIDES = ['ros', 'ros2dds', 'rmw_zenoh'] as const;
export type RelaySide = (typeof SIDES)[number];

const Side = (role: string) =>
  Type.Union(
    SIDES.map((s) => Type.Literal(s)),
    {
      description: `${role}: ros (rclnodejs, ros.enabled), ros2dds or rmw_zenoh (the zenoh link, or zenoh.second_link, of that mapping).`,
    },
  );

const Name = (what: string) => RosName({ description: `The ${what} (no glob).` });

export const RelayedTopic = Type.Object(
  { topic: Name('topic, e.g. /chatter'), from: Side('Where its publishers are'), to: Side('Where it is published') },
  { additionalProperties: false },
);

export const RelayedService = Type.Object(
  {
    service: Name('service, e.g. /add_two_ints'),
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/srv/[A-Za-z0-9_]+$',
      description: 'Its type, e.g. std_srvs/srv/Trigger.',
    }),
    from: Side('Where its clients are (the daemon serves it there)'),
    to: Side('Where its server is (the daemon calls it there)'),
  },
  { additionalProperties: false },
);

export const RelayedAction = Type.Object(
  {
    action: Name('action, e.g. /fibonacci'),
    type: Type.String({ pattern: '^[A-Za-z0-9_]+/action/[A-Za-z0-9_]+$', description: 'Its type.' }),
    from: Side('Where its clients are (the daemon serves it there)'),
    to: Side('Where its server is (the daemon calls it there)'),
  },
  { additionalProperties: false },
);

export const RelaysConfig = Section(
  {
    topics: Type.Array(RelayedTopic, {
      default: [],
      description: 'Topics relayed from one graph to the other, one way each.',
    }),
    services: Type.Array(RelayedService, {
      default: [],
      description: 'Services whose clients on one side a server on the other answers.',
    }),
    actions: Type.Array(RelayedAction, {
      default: [],
      description: 'Actions whose clients on one side a server on the other executes.',
    }),
  },
  'Relays between the graphs the daemon joins (docs/joined-graphs.md).',
);

export const RELAYS_SECTIONS = { relays: RelaysConfig } satisfies Type.TProperties;

export type RelaysSettings = Static<typeof RelaysConfig>;

type Issue = { path: string; message: string };

interface SidesConfig {
  ros: { enabled: boolean };
  zenoh: { enabled: boolean; mapping: string; second_link: { enabled: boolean; mapping: string } };
  relays: RelaysSettings;
}

/** Why `side` cannot be relayed to or from under this config, or undefined when it is enabled. */
function sideProblem(config: SidesConfig, side: RelaySide): string | undefined {
  if (side === 'ros')
    return config.ros.enabled
      ? undefined
      : 'names ros, but ros.enabled is false: enable the ROS 2 bridge or name another side';
  const { zenoh } = config;
  const links = [
    ...(zenoh.enabled ? [zenoh.mapping] : []),
    ...(zenoh.enabled && zenoh.second_link.enabled ? [zenoh.second_link.mapping] : []),
  ];
  if (links.includes(side)) return undefined;
  return `names ${side}, but no enabled Zenoh link has mapping ${side}: set zenoh.mapping (with zenoh.enabled) or zenoh.second_link (enabled, mapping: ${side}) to it`;
}

/**
 * What no one relay's schema can see: a side that is not enabled, a relay into the side it comes from, and a name
 * carried both ways (a topic whose sample would come back, a service two sides would serve on the bus).
 */
export function relayIssues(config: SidesConfig): Issue[] {
  const issues: Issue[] = [];
  const { zenoh, relays } = config;
  if (zenoh.second_link.enabled) {
    if (!zenoh.enabled)
      issues.push({
        path: 'zenoh.second_link.enabled',
        message: 'true while zenoh.enabled is false: enable zenoh too, or turn the second link off',
      });
    else if (zenoh.second_link.mapping === zenoh.mapping)
      issues.push({
        path: 'zenoh.second_link.mapping',
        message: `${zenoh.mapping}, the same as zenoh.mapping: the second link is for the other mapping (one link per mapping, each to its own router)`,
      });
  }
  const kinds = [
    ['topics', relays.topics.map((r) => ({ name: r.topic, from: r.from, to: r.to }))],
    ['services', relays.services.map((r) => ({ name: r.service, from: r.from, to: r.to }))],
    ['actions', relays.actions.map((r) => ({ name: r.action, from: r.from, to: r.to }))],
  ] as const;
  for (const [kind, entries] of kinds) {
    entries.forEach((entry, i) => {
      const at = `relays.${kind}[${i}]`;
      for (const end of ['from', 'to'] as const) {
        const problem = sideProblem(config, entry[end]);
        if (problem) issues.push({ path: `${at}.${end}`, message: problem });
      }
      if (entry.from === entry.to) {
        issues.push({
          path: `${at}.to`,
          message: `${entry.to}, the side ${entry.name} comes from: a relay into its own graph would loop; name the other side`,
        });
        return;
      }
      const earlier = entries.slice(0, i).findIndex((e) => e.name === entry.name && loops(kind, e, entry));
      if (earlier >= 0) {
        const other = entries[earlier]!;
        issues.push({
          path: at,
          message: `${entry.name} from ${entry.from} to ${entry.to}, while relays.${kind}[${earlier}] carries it from ${other.from} to ${other.to}: ${
            kind === 'topics'
              ? 'a side both sending and receiving it would send the relayed samples back; relay each topic one way'
              : 'one server side per name (the bus has one server of it); relay it one way'
          }`,
        });
      }
    });
  }
  return issues;
}

/** Whether two relays of one name would loop or clash. */
function loops(
  kind: 'topics' | 'services' | 'actions',
  a: { from: string; to: string },
  b: { from: string; to: string },
) {
  if (a.from === b.from && a.to === b.to) return true; // the same relay twice
  // A topic may fan out (from one side to two) but no side may both send and receive it.
  if (kind === 'topics') return a.from === b.to || a.to === b.from;
  return a.to !== b.to || a.from === b.to || a.to === b.from;
}

/** What one side's bridge does for the relays: bridge in, publish, call, serve; and what it must never do. */
export interface SideRelays {
  /** Topics it bridges onto the bus for another side, and must never publish back to its own graph. */
  readonly topicsIn: ReadonlySet<string>;
  /** Topics it publishes from another side, each with that side, and must never bridge in from its own graph. */
  readonly topicsOut: ReadonlyMap<string, { from: RelaySide; to: RelaySide }>;
  /** Services whose server is on its side: it calls them (each a bus query while the server is there). */
  readonly servicesCall: readonly string[];
  /** Services whose clients are on its side: it serves them, answered by the bus query of the same name. */
  readonly servicesServe: readonly { query: string; service: string; type: string }[];
  readonly actionsCall: readonly string[];
  readonly actionsServe: readonly { action: string; type: string }[];
}

/** The relays' part for `side`'s bridge. */
export function sideRelays(relays: RelaysSettings, side: RelaySide): SideRelays {
  return {
    topicsIn: new Set(relays.topics.filter((r) => r.from === side).map((r) => r.topic)),
    topicsOut: new Map(relays.topics.filter((r) => r.to === side).map((r) => [r.topic, { from: r.from, to: r.to }])),
    servicesCall: relays.services.filter((r) => r.to === side).map((r) => r.service),
    servicesServe: relays.services
      .filter((r) => r.from === side)
      .map((r) => ({ query: r.service, service: r.service, type: r.type })),
    actionsCall: relays.actions.filter((r) => r.to === side).map((r) => r.action),
    actionsServe: relays.actions.filter((r) => r.from === side).map((r) => ({ action: r.action, type: r.type })),
  };
}
