import { ConfigError, loadConfigFile } from '../config/index.ts';
import type { ValidationIssue } from '../util/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { jointStartIssues } from '../motion/index.ts';
import { errorText } from '../util/index.ts';

/** What the last config reload did, for /status and the status file (`last_reload`). */
export interface ReloadOutcome {
  /** When it ended, ISO 8601. */
  at: string;
  /** false: the file was refused and the running config stays in force, unchanged. */
  ok: boolean;
  /** The config file read; null for a reload given a config object. */
  file: string | null;
  /** Why the file was refused (every problem, one a line); absent when ok. */
  error?: string;
  /** What to do about it. */
  hint?: string;
  /** The components that restarted for it. */
  restarted: string[];
  /** Keys the file changed that the daemon takes only when it restarts (it keeps running on the old values). */
  pending_restart: string[];
  /** Reloads since the daemon started, this one included, by how they ended. */
  totals: ReloadTotals;
}

/**
 * How many reloads applied and how many were refused. A reload of an unchanged file counts as applied: it
 * was read, validated and is the config in force (as Prometheus counts its own). A reload skipped or cut
 * short by a stop ends with no outcome, and is not counted.
 */
export interface ReloadTotals {
  applied: number;
  rejected: number;
}

/** The reloads' outcomes: the last one, and the totals, which only go up (they back a Prometheus counter). */
export class ReloadHistory {
  #last: ReloadOutcome | null = null;
  #totals: ReloadTotals = { applied: 0, rejected: 0 };

  /** Counts a reload that ended, stamped now; returns its outcome, which is then the last one. */
  record(outcome: Omit<ReloadOutcome, 'at' | 'totals'>): ReloadOutcome {
    if (outcome.ok) this.#totals.applied++;
    else this.#totals.rejected++;
    this.#last = { at: new Date().toISOString(), ...outcome, totals: { ...this.#totals } };
    return this.#last;
  }

  /** The last reload's outcome, null before the first. */
  get last(): ReloadOutcome | null {
    return this.#last;
  }
}

export const RELOAD_AGAIN = 'fix the file, then reload again (systemctl reload auraison-edge, or kill -HUP <pid>)';

/**
 * Reads and validates the config file for a reload, refusing an empty one (see ConfigFileOptions). Returns
 * the config, or the error and what to do about it.
 */
export function readConfigForReload(
  file: string,
  env: NodeJS.ProcessEnv,
  overlay?: Record<string, unknown>,
): { config: EdgeConfig } | { error: string; hint: string; issues: ValidationIssue[] } {
  try {
    const { config } = loadConfigFile(file, env, { refuseEmpty: true, ...(overlay ? { overlay } : {}) });
    // As `run` and `config check` refuse them: a reload must not leave joint commands with no limits loaded.
    const joints = jointStartIssues(config.motion.joints);
    if (joints.length > 0)
      return {
        error: `${file}: ${joints.map(({ path, message }) => `${path}: ${message}`).join('; ')}`,
        hint: RELOAD_AGAIN,
        issues: joints,
      };
    return { config };
  } catch (error) {
    const issues = error instanceof ConfigError ? error.issues.map(({ path, message }) => ({ path, message })) : [];
    const message = errorText(error);
    // The usual surprise: a variable exported in a shell after the daemon started never reaches it.
    const hint = /environment variable \S+ is not set/.test(message)
      ? "the daemon's environment is fixed when it starts: set the variable where it is started (systemd: Environment= or EnvironmentFile= in the unit, `systemctl edit auraison-edge`) and restart it, or give the key a default (${VAR:-default})"
      : RELOAD_AGAIN;
    return { error: message, hint, issues };
  }
}

/**
 * The journal settings the open journal was made with: a change takes effect on restart, so until then the
 * running config keeps the old values (retain_days and max_mb apply at the next retention pass).
 */
export const JOURNAL_RESTART_KEYS = ['fsync', 'interval_ms', 'segment_mb'] as const;
