import type { Logger } from 'pino';
import { checkConfigObject, type EdgeConfig } from '../config/index.ts';
import { ConfigOverlayStore, overlayHash, unsettableChanges } from './config-overlay.ts';
import type { OverlayRequest, OverlayStaged } from './config-overlay.ts';
import { readConfigForReload } from './config-reload.ts';
import type { DaemonStatus } from './daemon-status.ts';
import { errorText } from '../util/index.ts';

export interface ConfigOverlaysOptions {
  dataDir: string;
  /** The config file, the base central's config is laid over; undefined: `given` is the base. */
  configFile: string | undefined;
  /** The config the daemon was given. */
  given: EdgeConfig;
  log: Logger;
}

/** What staging found, short of applying it: the daemon applies a `persisted` one as a reload. */
export type OverlayVerdict = Exclude<OverlayStaged, { status: 'persisted' }> | { status: 'persisted' };

/**
 * Config from central laid over the local config (the file, read again each time, or the config the daemon
 * was given): validated as a file is, refused where it changes a protected key, kept in the data dir. The
 * local file is the authority: a kept config it no longer allows is set aside, not applied. Callers keep
 * one stage at a time.
 */
export class ConfigOverlays {
  readonly #store: ConfigOverlayStore;
  readonly #configFile: string | undefined;
  readonly #given: EdgeConfig;
  readonly #log: Logger;
  /** Why the kept config is not in force, or undefined. */
  #setAside: string | undefined;

  constructor(options: ConfigOverlaysOptions) {
    const { dataDir, configFile, given, log } = options;
    this.#store = new ConfigOverlayStore(dataDir);
    this.#configFile = configFile;
    this.#given = given;
    this.#log = log;
  }

  /** Reads the kept config (at start); a file that can't be used is logged, and the local config runs alone. */
  load(): void {
    const problem = this.#store.load();
    if (problem) this.#log.warn({ problem }, "central's config is not used; the local file runs alone");
  }

  get current(): string | undefined {
    return this.#store.current?.config_id;
  }

  /** The local config (the file read now, or the config the daemon was given), with `overlay` laid over it. */
  readLocal(env: NodeJS.ProcessEnv, overlay?: Record<string, unknown>): ReturnType<typeof readConfigForReload> {
    if (this.#configFile) return readConfigForReload(this.#configFile, env, overlay);
    const check = checkConfigObject(this.#given, env, overlay);
    if (check.config) return { config: check.config };
    const issues = check.issues.map(({ path, message }) => ({ path, message }));
    return { error: issues.map((i) => `${i.path}: ${i.message}`).join('\n'), hint: '', issues };
  }

  /**
   * `local` with the kept config laid over it, when there is one and the local file still allows it. One the
   * file no longer allows (remote config switched off, a key now protected, a value now invalid) is set
   * aside with a warning.
   */
  layOver(local: EdgeConfig, env: NodeJS.ProcessEnv): EdgeConfig {
    const overlay = this.#store.current;
    this.#setAside = undefined;
    if (!overlay) return local;
    const setAside = (why: string): EdgeConfig => {
      this.#setAside = why;
      this.#log.warn({ config_id: overlay.config_id, why }, "central's config is set aside; the local file runs alone");
      return local;
    };
    const { enabled, protected_keys, settable_keys } = local.central.remote_config;
    if (!enabled) return setAside('central.remote_config.enabled is false');
    const merged = this.readLocal(env, overlay.config);
    if ('error' in merged) return setAside(`it is not valid over the local file: ${merged.error}`);
    const issues = unsettableChanges(local, merged.config, {
      settableKeys: settable_keys,
      protectedKeys: protected_keys,
    });
    if (issues.length > 0)
      return setAside(`it changes keys central may not change: ${issues.map((i) => i.path).join(', ')}`);
    return merged.config;
  }

  /** Validates a config from central over the local one and keeps it durably, or says why not. */
  async stage({ config_id, config: overlay }: OverlayRequest, env: NodeJS.ProcessEnv): Promise<OverlayVerdict> {
    const refused = (code: 'disabled' | 'failed', message: string) => ({ status: 'refused', code, message }) as const;
    const local = this.readLocal(env);
    if ('error' in local)
      return refused('failed', `the robot's own config does not load, so nothing can be laid over it: ${local.error}`);
    const { enabled, protected_keys, settable_keys } = local.config.central.remote_config;
    if (!enabled)
      return refused(
        'disabled',
        "this robot takes no config from central (central.remote_config.enabled is false in the robot's config file)",
      );
    const hash = overlayHash(overlay);
    const duplicateOf = this.#store.duplicateOf(config_id, hash);
    if (duplicateOf !== undefined) return { status: 'duplicate', duplicate_of: duplicateOf };
    const merged = this.readLocal(env, overlay);
    if ('error' in merged) {
      const issues = merged.issues.length > 0 ? merged.issues : [{ path: '', message: merged.error }];
      return { status: 'refused', code: 'invalid', message: `the config is not valid over the robot's own`, issues };
    }
    const issues = unsettableChanges(local.config, merged.config, {
      settableKeys: settable_keys,
      protectedKeys: protected_keys,
    });
    if (issues.length > 0) {
      const paths = issues.map((i) => i.path).join(', ');
      return { status: 'refused', code: 'protected', message: `changes keys central may not change: ${paths}`, issues };
    }
    try {
      await this.#store.save({ config_id, hash, config: overlay, received_at: new Date().toISOString() });
    } catch (error) {
      const message = errorText(error);
      return refused('failed', `could not keep the config (${this.#store.path}): ${message}; nothing was applied`);
    }
    return { status: 'persisted' };
  }

  /** The kept config for status and heartbeats, null when central sent none. */
  status(): DaemonStatus['central_config'] {
    const overlay = this.#store.current;
    if (!overlay) return null;
    const { config_id, received_at } = overlay;
    const setAside = this.#setAside;
    return { config_id, received_at, in_force: setAside === undefined, ...(setAside ? { set_aside: setAside } : {}) };
  }
}
