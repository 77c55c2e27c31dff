// Central's own command line, run as `auraison-edge central <command>`: the daemon's CLI loads this face lazily
// through its component registry, and each command loads what it needs (DuckDB, MQTT) only when it runs.
export { centralAcl } from './acl.ts';
export { centralQuery, centralRobots } from './fleet.ts';
export { centralKeygen } from './keygen.ts';
export { centralConfigPush, centralIntent } from './send.ts';
export { centralServe } from './serve.ts';
