import { pino } from 'pino';
import { Value } from 'typebox/value';
import type { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LakehouseConfig, RetentionConfig } from '../../daemon/config/sections/bags.ts';
import { Lakehouse, type LakehouseOptions } from '../../daemon/lakehouse/lakehouse.ts';

/** retention's defaults, as the config gives them. */
export const RETENTION_DEFAULTS = Value.Default(RetentionConfig, {}) as LakehouseOptions['retention'];

/** A Lakehouse component on `dataDir` with the config's defaults, no journal and no central link; `extra` overrides. */
export function testLakehouse(
  dataDir: string,
  definitions: DefinitionsRegistry,
  extra: Partial<LakehouseOptions> = {},
): Lakehouse {
  return new Lakehouse({
    dataDir,
    robot: 'r1',
    definitions,
    log: pino({ level: 'silent' }),
    journal: undefined,
    settings: Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings'],
    retention: RETENTION_DEFAULTS,
    syncRequired: false,
    ...extra,
  });
}
