import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgeConfig } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';
import { writeDurably, errorText } from '../util/index.ts';

/** The schema name of the overlay file. */
const OVERLAY_SCHEMA = 'auraison.central-config/1';

/** How many applied config ids are remembered for dedupe (MQTT delivers at least once). */
const SEEN_IDS = 100;

/** A config central sent, kept to be laid over the local file (see Daemon.stageConfigOverlay). */
export interface ConfigOverlay {
  config_id: string;
  /** sha256 of the overlay's canonical JSON: the same content under another id is a duplicate too. */
  hash: string;
  config: Record<string, unknown>;
  /** When it was taken, ISO 8601. */
  received_at: string;
}

interface OverlayFile {
  schema: typeof OVERLAY_SCHEMA;
  overlay: ConfigOverlay;
  /** Config ids applied, oldest first, the current one last. */
  seen: string[];
}

/** `<data_dir>/state/central-config.json`: the config central sent last, applied over the local file. */
export function configOverlayPath(dataDir: string): string {
  return join(dataDir, 'state', 'central-config.json');
}

/** sha256 of `value` as JSON with its keys sorted, so key order does not make two equal configs differ. */
export function overlayHash(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/**
 * The overlay file: read once at start, written durably (temp, fsync, rename) before an overlay is applied
 * or acknowledged. Callers keep one save at a time.
 */
export class ConfigOverlayStore {
  readonly path: string;
  #file: OverlayFile | undefined;

  constructor(dataDir: string) {
    this.path = configOverlayPath(dataDir);
  }

  /** Reads the file; returns what was wrong with it (then no overlay is used), or undefined. */
  load(): string | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `cannot read ${this.path}: ${errorText(error)}`;
    }
    try {
      const file = JSON.parse(text) as Partial<OverlayFile>;
      const overlay = file.overlay;
      if (
        file.schema !== OVERLAY_SCHEMA ||
        !overlay ||
        typeof overlay.config_id !== 'string' ||
        typeof overlay.config !== 'object' ||
        overlay.config === null ||
        !Array.isArray(file.seen)
      )
        return `${this.path} is not a ${OVERLAY_SCHEMA} file`;
      this.#file = { schema: OVERLAY_SCHEMA, overlay, seen: file.seen.filter((id) => typeof id === 'string') };
      return undefined;
    } catch (error) {
      return `${this.path} is not JSON: ${errorText(error)}`;
    }
  }

  /** The overlay in force, if central sent one. */
  get current(): ConfigOverlay | undefined {
    return this.#file?.overlay;
  }

  /** The id under which this config was applied before: the same id, or the same content as the current one. */
  duplicateOf(configId: string, hash: string): string | undefined {
    const file = this.#file;
    if (!file) return undefined;
    if (file.seen.includes(configId)) return configId;
    return file.overlay.hash === hash ? file.overlay.config_id : undefined;
  }

  /** Makes `overlay` the current one, durably. */
  async save(overlay: ConfigOverlay): Promise<void> {
    const seen = [...(this.#file?.seen ?? []).filter((id) => id !== overlay.config_id), overlay.config_id];
    const file: OverlayFile = { schema: OVERLAY_SCHEMA, overlay, seen: seen.slice(-SEEN_IDS) };
    await writeDurably(this.path, `${JSON.stringify(file, null, 2)}\n`);
    this.#file = file;
  }
}

/**
 * Keys central may never change, whatever the file lists as settable: who may reach the robot's API, the
 * motion gate (limits, the stop's latch and doors), the agent's rules and the approvals a person gives, where the data
 * lives and whether unsynced data may be deleted, the journal's durability, where the bridges, the model endpoints and
 * remote policies connect (a loop driven by a server of central's choosing would obey it), and
 * the link itself (a config that moved or shut the link, or renamed the robot, would cut central off).
 */
export const NEVER_SETTABLE: readonly string[] = [
  'central',
  'robot',
  'data_dir',
  'api',
  'motion',
  'agent.rules',
  'agent.require_approval',
  'agent.approval_timeout_s',
  'retention.allow_unsynced_delete',
  'journal.fsync',
  'journal.interval_ms',
  'zenoh.endpoint',
  'llm.endpoints',
  'policies.*.remote',
];

/**
 * The keys central's overlay changes that it may not: each changed key (dotted path) must be under one of the
 * file's `settableKeys` (`*` for any one key), under none of its `protectedKeys`, and under none of
 * NEVER_SETTABLE. Each refusal is an issue naming the key and why.
 */
export function unsettableChanges(
  local: EdgeConfig,
  merged: EdgeConfig,
  remote: { settableKeys: readonly string[]; protectedKeys: readonly string[] },
): ValidationIssue[] {
  const { settableKeys, protectedKeys } = remote;
  const issues: ValidationIssue[] = [];
  for (const key of leafChanges(local, merged)) {
    const path = key.split('.');
    const never = NEVER_SETTABLE.find((p) => under(path, p));
    const guarded = protectedKeys.find((p) => under(path, p));
    const message = never
      ? `central may never change ${never}: only the robot's config file may`
      : guarded
        ? `protected by central.remote_config.protected_keys (${guarded}): only the robot's config file may change it`
        : settableKeys.some((p) => under(path, p))
          ? undefined
          : `not in central.remote_config.settable_keys: add ${key} (or a key above it) there to let central change it`;
    if (message) issues.push({ path: key, message });
  }
  return issues;
}

/**
 * The changed keys down to their leaves, a mapping added or taken out whole included (so a loop central adds with
 * a safe action is a change of `control.loops.grip.safe_action`, not of `control.loops.grip`).
 */
function leafChanges(before: unknown, after: unknown, prefix = ''): string[] {
  const b = asMapping(before);
  const a = asMapping(after);
  if ((b || before === undefined) && (a || after === undefined) && (a || b)) {
    const keys = new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})]);
    return [...keys].flatMap((k) => leafChanges(b?.[k], a?.[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix || '(all)'];
}

/** Whether `path` is `pattern`'s key or under it (`*` matches any one key). */
function under(path: readonly string[], pattern: string): boolean {
  const parts = pattern.split('.');
  return parts.length <= path.length && parts.every((p, i) => p === '*' || p === path[i]);
}

function asMapping(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A config from central, as the central link hands it to the daemon. */
export interface OverlayRequest {
  config_id: string;
  /** Keys to lay over the local file (the whole config, or a part of it). */
  config: Record<string, unknown>;
}

export type OverlayRefusalCode = 'disabled' | 'invalid' | 'protected' | 'stopping' | 'failed';

/** What taking a config from central did, up to the point it is durable. */
export type OverlayStaged =
  | { status: 'refused'; code: OverlayRefusalCode; message: string; issues?: ValidationIssue[] }
  | { status: 'duplicate'; duplicate_of: string }
  /** Kept durably; `applied` settles once the reload it takes has run. */
  | { status: 'persisted'; applied: Promise<OverlayApplied> };

export type OverlayApplied =
  | {
      status: 'applied';
      restarted: string[];
      pending_restart: string[];
      /** Components the new config restarted that failed to start (they are retried with backoff). */
      degraded: { component: string; error: string }[];
    }
  | { status: 'failed'; message: string };
