import type { LakehouseService } from '../../../daemon/contract/services.ts';
import type { Component, ComponentHealth } from '../../../daemon/lifecycle/component.ts';

/**
 * TEST ONLY. A stand-in for the lakehouse (component `lakehouse`): answers `SELECT <n>` style queries from a
 * fixed table, rejects anything that is not a SELECT (as the real one's read-only connection does), and
 * can be made to hang to exercise the API's time limit.
 */
export class FakeLakehouse implements Component, LakehouseService {
  readonly name = 'lakehouse';
  readonly calls: { sql: string; options: { timeoutMs?: number; maxRows?: number } | undefined }[] = [];
  rows: unknown[][] = [
    [1, 'scan'],
    [2, 'odom'],
    [3, 'map'],
  ];
  async start(): Promise<void> {}
  async close(): Promise<void> {}
  health(): ComponentHealth {
    return { state: 'running' };
  }

  async query(sql: string, options?: { timeoutMs?: number; maxRows?: number }) {
    this.calls.push({ sql, options });
    if (/^\s*select\s+sleep/i.test(sql)) return new Promise<never>(() => {}); // never answers
    if (!/^\s*(select|with)\b/i.test(sql))
      throw new Error(`Parser Error: only read-only statements may run (got ${sql.split(/\s/)[0]})`);
    const maxRows = options?.maxRows ?? Infinity;
    return {
      columns: [
        { name: 'id', type: 'INTEGER' },
        { name: 'topic', type: 'VARCHAR' },
      ],
      rows: this.rows.slice(0, maxRows),
      truncated: this.rows.length > maxRows,
    };
  }
}
