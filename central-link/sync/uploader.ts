import type { MultipartGrant, SingleGrant, UploadedPart } from '../sync-protocol.ts';
import type { Budget } from './budget.ts';

export interface UploadJob {
  /** absolute */
  path: string;
  size: number;
  sha256: string;
  grant: SingleGrant | MultipartGrant;
  /** parts the edge recorded as acknowledged */
  acked: UploadedPart[];
}

export type UploadOutcome =
  | { kind: 'done'; parts: UploadedPart[] }
  | { kind: 'expired' | 'forbidden'; parts: UploadedPart[] }
  | { kind: 'gone'; error: string }
  | { kind: 'failed'; error: string; parts: UploadedPart[] }
  | { kind: 'aborted'; parts: UploadedPart[] };

export interface UploadOptions {
  budget: Budget;
  signal?: AbortSignal;
  /** persist before going on */
  onPart?: (p: UploadedPart) => void | Promise<void>;
  onProgress?: (bytes: number) => void;
  maxRetries?: number;
}

export function uploadFile(job: UploadJob, o: UploadOptions): Promise<UploadOutcome> {
  void job;
  void o;
  throw new Error('not built yet');
}
