import type { Logger } from 'pino';
import type { DefinitionsRegistry } from './bus/index.ts';
import type { EdgeConfig } from './config/index.ts';
import { changedKeys, JOURNAL_RESTART_KEYS } from './lifecycle/index.ts';

/**
 * What a reload takes now from `next`, with `running` the config in force: new definition dirs are added and
 * the log level changes at once; the data dir and the open journal's settings keep their running values,
 * each warned and named in `pending` (what the daemon takes only on its next start).
 */
export function planReload(
  running: EdgeConfig,
  next: EdgeConfig,
  parts: { definitions: DefinitionsRegistry; log: Logger },
): { config: EdgeConfig; pending: string[] } {
  const { definitions, log } = parts;
  let config = next;
  const pending: string[] = [];
  if (JSON.stringify(config.bus) !== JSON.stringify(running.bus)) {
    for (const dir of config.bus.definitions.dirs) {
      if (!running.bus.definitions.dirs.includes(dir)) definitions.addDirectory(dir);
    }
    log.warn('bus.definitions changes are applied additively; restart the daemon to remove definitions');
    if (
      running.bus.definitions.dirs.some((dir) => !config.bus.definitions.dirs.includes(dir)) ||
      config.bus.definitions.distro !== running.bus.definitions.distro
    ) {
      pending.push('bus.definitions');
    }
  }
  if (config.log.level !== running.log.level) {
    // pino changes level at runtime, and child loggers without a level of their own follow it.
    log.info({ from: running.log.level, to: config.log.level }, 'log level changed');
    log.level = config.log.level;
  }
  if (config.data_dir !== running.data_dir) {
    log.warn({ running: running.data_dir, file: config.data_dir }, 'data_dir changes take effect on restart');
    // Until then the daemon runs on the old dir: components' settings and status say so, and nothing
    // restarts for a dir it would not use.
    config = { ...config, data_dir: running.data_dir };
    pending.push('data_dir');
  }
  // The open journal keeps the settings it was made with, and so does the running config, so that what
  // it says is what runs; retain_days and max_mb apply at the next retention pass.
  const kept = Object.fromEntries(JOURNAL_RESTART_KEYS.map((key) => [key, running.journal[key]]));
  const journalKeys = changedKeys(
    kept,
    Object.fromEntries(JOURNAL_RESTART_KEYS.map((key) => [key, config.journal[key]])),
    'journal',
  );
  if (journalKeys.length > 0) {
    log.warn({ keys: journalKeys }, 'journal changes take effect on restart (retain_days and max_mb apply now)');
    config = { ...config, journal: { ...config.journal, ...kept } };
    pending.push(...journalKeys);
  }
  return { config, pending };
}
