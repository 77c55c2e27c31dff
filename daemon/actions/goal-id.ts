import { randomBytes } from 'node:crypto';

/** unique_identifier_msgs/UUID as JSON carries it. */
export interface UuidMessage {
  uuid: number[];
}

/** A goal's id: 16 random bytes (UUID v4 layout), as rclcpp and rclpy make one. */
export function newGoalId(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b.toString('hex');
}

export function uuidMessage(hex: string): UuidMessage {
  return { uuid: [...Buffer.from(hex, 'hex')] };
}

/**
 * The hex form of a UUID message, or undefined when it is not 16 bytes of 0..255. Accepts the array JSON gives
 * and the typed array a CDR decoder gives.
 */
export function goalIdHex(message: unknown): string | undefined {
  const uuid = (message as { uuid?: unknown } | null | undefined)?.uuid;
  if (!(Array.isArray(uuid) || uuid instanceof Uint8Array) || uuid.length !== 16) return undefined;
  const bytes = Array.from(uuid as ArrayLike<unknown>);
  if (!bytes.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255)) return undefined;
  return Buffer.from(bytes as number[]).toString('hex');
}

export const ZERO_GOAL_ID = '0'.repeat(32);
