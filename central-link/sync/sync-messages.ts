import { nowNs } from '../../daemon/util/index.ts';
import type { SyncFile } from '../../daemon/lakehouse/index.ts';
import { UPLOADS_SCHEMA, type Complete, type Lost, type Offer, type UploadedPart } from '../sync-protocol.ts';

/** The offer of a catalog row: its bytes' id and size, and for bags what central decides by. */
export function offerMessage(
  row: SyncFile,
  robot: { robot: string; fleet: string },
  reason: string,
  partSize: number | undefined,
): Offer {
  const m = row.meta;
  return {
    schema: UPLOADS_SCHEMA,
    type: 'offer',
    robot: robot.robot,
    fleet: robot.fleet,
    file_id: row.fileId,
    kind: row.kind,
    path: row.path,
    size: row.size,
    sha256: row.sha256,
    ...(m.bag !== undefined ? { bag: m.bag } : {}),
    ...(row.segmentId !== undefined ? { segment_id: row.segmentId } : {}),
    ...(m.topics ? { topics: m.topics } : {}),
    ...(m.start_ns !== undefined ? { start_ns: m.start_ns } : {}),
    ...(m.end_ns !== undefined ? { end_ns: m.end_ns } : {}),
    ...(m.tags ? { tags: m.tags } : {}),
    ...(m.table !== undefined ? { table: m.table } : {}),
    ...(row.uploadId !== undefined ? { upload_id: row.uploadId } : {}),
    reason,
    ...(partSize !== undefined ? { part_size: partSize } : {}),
    ts: nowNs().toString(),
  };
}

/** Every byte of the row's file is at the storage, under its grant (and multipart upload, with its parts). */
export function completeMessage(row: SyncFile, robot: string): Complete {
  return {
    schema: UPLOADS_SCHEMA,
    type: 'complete',
    robot,
    file_id: row.fileId,
    grant_id: row.grantId ?? '',
    object_key: row.objectKey ?? '',
    sha256: row.sha256,
    size: row.size,
    ...(row.uploadId !== undefined ? { upload_id: row.uploadId, parts: row.ackedParts as UploadedPart[] } : {}),
    ts: nowNs().toString(),
  };
}

/** A file central will never get; `row` is undefined for a file id this robot no longer knows. */
export function lostMessage(row: SyncFile | undefined, fileId: string, robot: string, reason: string): Lost {
  return {
    schema: UPLOADS_SCHEMA,
    type: 'lost',
    robot,
    file_id: fileId,
    path: row?.path ?? '',
    size: row?.size ?? 0,
    reason,
    ts: nowNs().toString(),
  };
}
