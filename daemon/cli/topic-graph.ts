import type { DaemonStatus } from '../lifecycle/index.ts';

interface Row {
  name: string;
  type: string;
  count: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `ros2 topic list -v` from a daemon's status: the publishers and subscribers of each topic and type, as the
 * bridges see the robot's graph (the daemon's own node included), plus the bus topics no bridge reports
 * (the sim's, a policy's), counted by their bus publishers and subscribers.
 */
export function formatVerboseTopics(status: DaemonStatus): string {
  const published = new Map<string, Row>();
  const subscribed = new Map<string, Row>();
  const add = (rows: Map<string, Row>, name: string, type: string, count: number) => {
    if (count === 0) return;
    const key = `${name}\0${type}`;
    const row = rows.get(key) ?? { name, type, count: 0 };
    row.count += count;
    rows.set(key, row);
  };
  const endpoints = status.graph?.endpoints ?? [];
  const inGraph = new Set(endpoints.map((e) => e.name));
  for (const e of endpoints) {
    if (e.kind === 'publisher') add(published, e.name, e.type, 1);
    else if (e.kind === 'subscriber') add(subscribed, e.name, e.type, 1);
  }
  for (const t of status.topics) {
    if (inGraph.has(t.topic)) continue;
    add(published, t.topic, t.type, t.publishers);
    add(subscribed, t.topic, t.type, t.subscribers);
  }
  const section = (title: string, rows: Map<string, Row>, word: string) =>
    `${title}:\n${[...rows.values()]
      .sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type))
      .map((r) => ` * ${r.name} [${r.type}] ${plural(r.count, word)}\n`)
      .join('')}\n`;
  return section('Published topics', published, 'publisher') + section('Subscribed topics', subscribed, 'subscriber');
}
