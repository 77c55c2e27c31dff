import { v7 } from 'uuid';

/** A new UUIDv7: time-sortable, so ids in logs and tables sort by creation time. */
export function newId(): string {
  return v7();
}

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
