import type { FleetView, RobotView, UploadCounts } from '../../central/fleet-view.ts';
import { noMaintenance, type MaintenanceCounts } from '../../central/lake-maintenance.ts';

/**
 * A FleetView with the robots, events and query answers a test sets: what the HTTP API and the operator
 * commands show, without a central behind them. `queries` keeps every SQL the API let through.
 */
export class FleetDouble implements FleetView {
  robotList: RobotView[] = [];
  events: Record<string, unknown>[] = [];
  counts: UploadCounts = { offered: 0, granted: 0, stored: 0, rejected: 0, bytes_stored: 0 };
  upkeep: MaintenanceCounts = noMaintenance();
  answer: (sql: string) => { columns: string[]; rows: unknown[][] } = () => ({ columns: [], rows: [] });
  readonly queries: string[] = [];

  robots(): RobotView[] {
    return this.robotList;
  }

  async query(sql: string): Promise<{ columns: string[]; rows: unknown[][] }> {
    this.queries.push(sql);
    return this.answer(sql);
  }

  async recentEvents(limit: number): Promise<Record<string, unknown>[]> {
    return this.events.slice(0, limit);
  }

  uploads(): UploadCounts {
    return this.counts;
  }

  maintenance(): MaintenanceCounts {
    return this.upkeep;
  }
}
