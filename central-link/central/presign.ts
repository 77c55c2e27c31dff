import type { Complete, MultipartGrant, Offer, SingleGrant } from '../sync-protocol.ts';

/** Central's object storage (S3-compatible) and how it grants uploads. */
export interface StorageSettings {
  endpoint: string;
  region: string;
  bucket: string;
  access_key_id: string;
  secret_access_key: string;
  force_path_style: boolean;
  url_ttl_s: number;
  multipart_threshold_bytes: number;
  part_size_bytes: number;
  prefix: string;
}

/** Central's side of bulk sync: presigned grants, completion and verification. */
export class GrantMaker {
  constructor(s: StorageSettings) {
    void s;
  }

  /** Single PUT below the threshold, else multipart; reuses offer.upload_id when the storage still has it. */
  grant(offer: Offer, objectKey: string): Promise<SingleGrant | MultipartGrant> {
    void offer;
    void objectKey;
    throw new Error('not built yet');
  }

  /** CompleteMultipartUpload when multipart, then verify(). */
  complete(msg: Complete): Promise<{ ok: true } | { ok: false; reason: string }> {
    void msg;
    throw new Error('not built yet');
  }

  /** The object's size, and its sha256 (a checksum the storage keeps, or a streamed GET). */
  verify(objectKey: string, sha256: string, size: number): Promise<{ ok: true } | { ok: false; reason: string }> {
    void objectKey;
    void sha256;
    void size;
    throw new Error('not built yet');
  }

  objectKey(robotFleet: { fleet: string; robot: string }, offer: Offer): string {
    void robotFleet;
    void offer;
    throw new Error('not built yet');
  }

  close(): void {}
}
