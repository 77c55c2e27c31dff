import Type, { type Static } from 'typebox';
import { Validator } from '../daemon/util/index.ts';

/**
 * Bulk sync's messages (docs/sync-protocol.md), JSON over MQTT 5, QoS 1. The edge offers each sealed file on
 * `<prefix>/<fleet>/<robot>/uploads` (up); central answers on `<prefix>/<fleet>/<robot>/grants` (down) with
 * presigned URLs on its S3-compatible storage, or "later", or "not wanted"; the edge uploads, says `complete`,
 * and central confirms `stored` once it has checked the object. Both sides are stateless between messages
 * except for what they persist: the edge its catalog row per file (state, upload id, acknowledged parts), central
 * its storage. Any message may come twice or out of order; each is keyed by `file_id`, and a grant by `grant_id`.
 */
export const UPLOADS_SCHEMA = 'auraison.uploads/1';
export const GRANTS_SCHEMA = 'auraison.grants/1';

/** What a synced file is: an MCAP bag split, a lakehouse parquet table file, or a parquet file of events. */
export const SyncKind = Type.Union([Type.Literal('bag'), Type.Literal('table'), Type.Literal('events')]);
export type SyncKind = Static<typeof SyncKind>;

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of the whole file' });
/** A file's id: `<kind>:<sha256>`, so the same bytes offered twice (or after a restart) are the same file. */
const FileId = Type.String({ minLength: 1, maxLength: 256 });

// ---- up: <prefix>/<fleet>/<robot>/uploads --------------------------------------------------------------

/** A sealed file the edge has and central may want. Sent again (same file_id) to ask for a fresh grant. */
export const Offer = Type.Object({
  schema: Type.Literal(UPLOADS_SCHEMA),
  type: Type.Literal('offer'),
  robot: Type.String(),
  fleet: Type.String(),
  file_id: FileId,
  kind: SyncKind,
  /** Path relative to the data dir, `/`-separated (`bags/<bag>/<bag>_0.mcap`, `lakehouse/tables/...`). */
  path: Type.String({ minLength: 1 }),
  size: Type.Integer({ minimum: 0 }),
  sha256: Sha256,
  /** Bags: the bag, split, topics and time range, so central can decide and list it without reading it. */
  bag: Type.Optional(Type.String()),
  segment_id: Type.Optional(Type.String()),
  topics: Type.Optional(Type.Array(Type.String())),
  start_ns: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
  end_ns: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
  /** Tags of the bag (`snapshot`, `agent-marked`, ...). */
  tags: Type.Optional(Type.Array(Type.String())),
  /** Tables: the lakehouse table the parquet file belongs to. */
  table: Type.Optional(Type.String()),
  /** A multipart upload already started for this file (after a restart): central lists its parts. */
  upload_id: Type.Optional(Type.String()),
  /** Why a fresh grant is asked for: `expired`, `forbidden` (403), `new`. */
  reason: Type.Optional(Type.String()),
  /** The part size the edge asks for in a multipart grant (`central.sync.part_size_mb`); central decides. */
  part_size: Type.Optional(Type.Integer({ minimum: 5 * 1024 * 1024 })),
  ts: Type.String(),
});
export type Offer = Static<typeof Offer>;

/** One uploaded part of a multipart upload, as the storage acknowledged it. */
export const UploadedPart = Type.Object({
  part_number: Type.Integer({ minimum: 1, maximum: 10_000 }),
  etag: Type.String(),
  size: Type.Integer({ minimum: 0 }),
});
export type UploadedPart = Static<typeof UploadedPart>;

/** Every byte is at the storage: central completes a multipart upload, checks the object and confirms. */
export const Complete = Type.Object({
  schema: Type.Literal(UPLOADS_SCHEMA),
  type: Type.Literal('complete'),
  robot: Type.String(),
  file_id: FileId,
  grant_id: Type.String(),
  object_key: Type.String(),
  sha256: Sha256,
  size: Type.Integer({ minimum: 0 }),
  upload_id: Type.Optional(Type.String()),
  parts: Type.Optional(Type.Array(UploadedPart)),
  ts: Type.String(),
});
export type Complete = Static<typeof Complete>;

/** A file the edge no longer has (retention under max_mb, a corrupt file): central will never get it. */
export const Lost = Type.Object({
  schema: Type.Literal(UPLOADS_SCHEMA),
  type: Type.Literal('lost'),
  robot: Type.String(),
  file_id: FileId,
  path: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  reason: Type.String(),
  ts: Type.String(),
});
export type Lost = Static<typeof Lost>;

export const UploadsMessage = Type.Union([Offer, Complete, Lost]);
export type UploadsMessage = Static<typeof UploadsMessage>;

// ---- down: <prefix>/<fleet>/<robot>/grants -------------------------------------------------------------

/** A presigned URL and the headers it was signed with (sent exactly, or the storage answers 403). */
export const SignedRequest = Type.Object({
  url: Type.String({ minLength: 1 }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type SignedRequest = Static<typeof SignedRequest>;

/** One PUT of the whole file (small files). */
export const SingleGrant = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('grant'),
  mode: Type.Literal('single'),
  file_id: FileId,
  grant_id: Type.String({ minLength: 1 }),
  object_key: Type.String({ minLength: 1 }),
  /** Unix ms after which the URLs are refused: the edge asks again before, never restarts the file. */
  expires_at: Type.Integer(),
  put: SignedRequest,
  ts: Type.String(),
});
export type SingleGrant = Static<typeof SingleGrant>;

/** An S3 multipart upload: the parts still missing, each with its URL; the parts the storage already has. */
export const MultipartGrant = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('grant'),
  mode: Type.Literal('multipart'),
  file_id: FileId,
  grant_id: Type.String({ minLength: 1 }),
  object_key: Type.String({ minLength: 1 }),
  expires_at: Type.Integer(),
  upload_id: Type.String({ minLength: 1 }),
  /** Bytes per part (the last is shorter); part N covers [(N-1)*part_size, N*part_size). */
  part_size: Type.Integer({ minimum: 5 * 1024 * 1024 }),
  parts: Type.Array(Type.Object({ part_number: Type.Integer({ minimum: 1, maximum: 10_000 }), put: SignedRequest })),
  /** What the storage already holds (ListParts): these are not sent again. */
  uploaded: Type.Array(UploadedPart),
  ts: Type.String(),
});
export type MultipartGrant = Static<typeof MultipartGrant>;

/** Not now: offer again after `retry_after_s` (a time window, a full storage, central busy). */
export const Later = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('later'),
  file_id: FileId,
  retry_after_s: Type.Number({ minimum: 0 }),
  reason: Type.String(),
  ts: Type.String(),
});
export type Later = Static<typeof Later>;

/** Central does not want this file (policy): the edge counts it as done, and retention may delete it. */
export const NotWanted = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('not_wanted'),
  file_id: FileId,
  reason: Type.String(),
  ts: Type.String(),
});
export type NotWanted = Static<typeof NotWanted>;

/** Central has the object, checked against the offer's sha256: the edge records it as synced. */
export const Stored = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('stored'),
  file_id: FileId,
  object_key: Type.String(),
  sha256: Sha256,
  size: Type.Integer({ minimum: 0 }),
  ts: Type.String(),
});
export type Stored = Static<typeof Stored>;

/**
 * Central checked the object and it is wrong (sha256 or size differ), or completing it failed: the edge
 * hashes its file again and offers it afresh, or reports it lost if the file itself changed.
 */
export const Rejected = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Literal('rejected'),
  file_id: FileId,
  reason: Type.String(),
  ts: Type.String(),
});
export type Rejected = Static<typeof Rejected>;

/** Central's bulk switch for this robot: paused bulk keeps offering nothing new and sends no bytes. */
export const BulkControl = Type.Object({
  schema: Type.Literal(GRANTS_SCHEMA),
  type: Type.Union([Type.Literal('pause'), Type.Literal('resume')]),
  reason: Type.Optional(Type.String()),
  ts: Type.String(),
});
export type BulkControl = Static<typeof BulkControl>;

export const GrantsMessage = Type.Union([SingleGrant, MultipartGrant, Later, NotWanted, Stored, Rejected, BulkControl]);
export type GrantsMessage = Static<typeof GrantsMessage>;

export const uploadsValidator = new Validator(UploadsMessage);
export const grantsValidator = new Validator(GrantsMessage);

/** The file id of a file's bytes. */
export function syncFileId(kind: SyncKind, sha256: string): string {
  return `${kind}:${sha256}`;
}

/** Part N's byte range [start, end) for a file of `size` bytes cut in parts of `partSize`. */
export function partRange(partNumber: number, partSize: number, size: number): { start: number; end: number } {
  const start = (partNumber - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) };
}

/** How many parts a file of `size` bytes has at `partSize` (at least one, an empty file's). */
export function partCount(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}
