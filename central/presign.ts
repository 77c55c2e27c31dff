import { createHash, randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  GRANTS_SCHEMA,
  partCount,
  partRange,
  type Complete,
  type MultipartGrant,
  type Offer,
  type SingleGrant,
  type UploadedPart,
} from 'auraison-edge/protocol';
import { errorText } from 'auraison-edge/util';

/** Central's object storage (S3-compatible) and how it grants uploads. */
export interface StorageSettings {
  endpoint: string;
  region: string;
  bucket: string;
  access_key_id: string;
  secret_access_key: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`), as MinIO wants. */
  force_path_style: boolean;
  /** How long a granted URL is accepted. */
  url_ttl_s: number;
  /** Files of this size or more are granted as a multipart upload. */
  multipart_threshold_bytes: number;
  /** Bytes per part (at least 5 MiB; raised when a file would need more than 10,000 parts). */
  part_size_bytes: number;
  /** Prepended to every object key (`fleet-data/`). */
  prefix: string;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/**
 * Central's side of bulk sync: presigned grants on its S3-compatible storage, completion and verification.
 * A single PUT is signed with the file's sha256 (`x-amz-checksum-sha256`, in the grant's headers), so the
 * storage refuses bytes that differ and keeps the checksum for verify(); multipart parts carry a Content-MD5
 * the edge computes, and verify() hashes the object in a streamed GET. Stateless: a multipart upload is
 * found again from the offer's `upload_id` (ListParts).
 */
export class GrantMaker {
  #client: S3Client;
  #bucket: string;
  #ttlS: number;
  #threshold: number;
  #partSize: number;
  #prefix: string;

  constructor(s: StorageSettings) {
    const { endpoint, region, bucket, access_key_id, secret_access_key, force_path_style } = s;
    this.#client = new S3Client({
      endpoint,
      region,
      forcePathStyle: force_path_style,
      credentials: { accessKeyId: access_key_id, secretAccessKey: secret_access_key },
      // Otherwise the SDK signs a CRC32 of an empty body into presigned URLs, which no upload then matches.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.#bucket = bucket;
    this.#ttlS = s.url_ttl_s;
    this.#threshold = s.multipart_threshold_bytes;
    this.#partSize = Math.max(MIN_PART, s.part_size_bytes);
    this.#prefix = s.prefix === '' || s.prefix.endsWith('/') ? s.prefix : `${s.prefix}/`;
  }

  /**
   * What is wrong with the bucket, asked of the storage (HeadBucket): `missing` when it does not exist (nothing
   * can be stored until someone makes it), `problem` for another failure (unreachable, the key refused), with
   * what to do; undefined when it is there.
   */
  async bucketProblem(endpoint: string): Promise<{ missing: boolean; problem: string } | undefined> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
      return undefined;
    } catch (error) {
      const e = error as Error & { $metadata?: { httpStatusCode?: number } };
      const status = e.$metadata?.httpStatusCode;
      if (status === 404 || e.name === 'NotFound' || e.name === 'NoSuchBucket')
        return {
          missing: true,
          problem: `storage.bucket ${this.#bucket} does not exist at ${endpoint}: make it (MinIO: \`mc mb <alias>/${this.#bucket}\`; S3: \`aws s3 mb s3://${this.#bucket}\`), then start central serve again (docs/central.md)`,
        };
      if (status === 403)
        return {
          missing: false,
          problem: `storage at ${endpoint} refused central's key (storage.access_key_id) for bucket ${this.#bucket} (403): give it a key that may read and write the bucket`,
        };
      return {
        missing: false,
        problem: `storage at ${endpoint} (bucket ${this.#bucket}) cannot be asked (${e.name}: ${e.message}): uploads fail until it answers`,
      };
    }
  }

  /**
   * A single PUT below the threshold, else multipart: reuses offer.upload_id when the storage still has it
   * (ListParts gives `uploaded`), else CreateMultipartUpload. Throws what the storage said when it fails.
   */
  async grant(offer: Offer, objectKey: string): Promise<SingleGrant | MultipartGrant> {
    const expiresAt = Date.now() + this.#ttlS * 1000;
    const base = {
      schema: GRANTS_SCHEMA as typeof GRANTS_SCHEMA,
      type: 'grant' as const,
      file_id: offer.file_id,
      grant_id: randomUUID(),
      object_key: objectKey,
      expires_at: expiresAt,
    };
    if (offer.size < this.#threshold) {
      const checksum = Buffer.from(offer.sha256, 'hex').toString('base64');
      const cmd = new PutObjectCommand({
        Bucket: this.#bucket,
        Key: objectKey,
        ContentLength: offer.size,
        ChecksumSHA256: checksum,
      });
      const url = await getSignedUrl(this.#client, cmd, {
        expiresIn: this.#ttlS,
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
      });
      const put = { url, headers: { 'x-amz-checksum-sha256': checksum } };
      return { ...base, mode: 'single', put, ts: new Date().toISOString() };
    }
    // The edge may ask a part size (a slow link wants small parts, so a cut costs little); 5 MiB at least.
    const asked = offer.part_size !== undefined ? Math.max(MIN_PART, offer.part_size) : this.#partSize;
    const partSize = Math.max(asked, Math.ceil(offer.size / MAX_PARTS));
    const found = offer.upload_id ? await this.#resume(objectKey, offer.upload_id, partSize, offer.size) : undefined;
    const uploadId = found ? offer.upload_id! : await this.#create(objectKey);
    const uploaded = found ?? [];
    const have = new Set(uploaded.map((p) => p.part_number));
    const parts: MultipartGrant['parts'] = [];
    for (let n = 1; n <= partCount(offer.size, partSize); n++) {
      if (have.has(n)) continue;
      const cmd = new UploadPartCommand({ Bucket: this.#bucket, Key: objectKey, UploadId: uploadId, PartNumber: n });
      parts.push({ part_number: n, put: { url: await getSignedUrl(this.#client, cmd, { expiresIn: this.#ttlS }) } });
    }
    return {
      ...base,
      mode: 'multipart',
      upload_id: uploadId,
      part_size: partSize,
      parts,
      uploaded,
      ts: new Date().toISOString(),
    };
  }

  /** CompleteMultipartUpload when multipart (with the parts the storage lists), then verify(). */
  async complete(msg: Complete): Promise<Verdict> {
    if (msg.upload_id) {
      let listed: UploadedPart[];
      try {
        listed = await this.#listParts(msg.object_key, msg.upload_id);
      } catch (e) {
        // Completed already (the edge said `complete` twice): the object itself tells.
        if (errorName(e) === 'NoSuchUpload') return this.verify(msg.object_key, msg.sha256, msg.size);
        throw e;
      }
      const size = listed.reduce((a, p) => a + p.size, 0);
      if (size !== msg.size) return { ok: false, reason: `the storage holds ${size} bytes of ${msg.size} in parts` };
      try {
        await this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.#bucket,
            Key: msg.object_key,
            UploadId: msg.upload_id,
            MultipartUpload: { Parts: listed.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
          }),
        );
      } catch (e) {
        return { ok: false, reason: `completing the multipart upload failed: ${s3ErrorText(e)}` };
      }
    }
    return this.verify(msg.object_key, msg.sha256, msg.size);
  }

  /** The object's size, and its sha256: the checksum the storage kept from a single PUT, or a streamed GET. */
  async verify(objectKey: string, sha256: string, size: number): Promise<Verdict> {
    let head;
    try {
      head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey, ChecksumMode: 'ENABLED' }),
      );
    } catch (e) {
      return { ok: false, reason: `${objectKey}: ${s3ErrorText(e)}` };
    }
    if (head.ContentLength !== size) {
      return { ok: false, reason: `${objectKey} is ${head.ContentLength} bytes, the file ${size}` };
    }
    const want = Buffer.from(sha256, 'hex').toString('base64');
    // A full-object checksum (a multipart one is `<b64>-<parts>`, of the parts' checksums).
    if (head.ChecksumSHA256 && !head.ChecksumSHA256.includes('-') && head.ChecksumType !== 'COMPOSITE') {
      if (head.ChecksumSHA256 === want) return { ok: true };
      return { ok: false, reason: `${objectKey}'s sha256 differs from the file's` };
    }
    let got: string;
    try {
      got = await this.#hashObject(objectKey);
    } catch (e) {
      return { ok: false, reason: `reading ${objectKey} back failed: ${s3ErrorText(e)}` };
    }
    return got === sha256
      ? { ok: true }
      : { ok: false, reason: `${objectKey}'s sha256 is ${got}, the file's ${sha256}` };
  }

  /** `<prefix><fleet>/<robot>/<path>`, with `.`, `..` and empty segments left out. */
  objectKey(robotFleet: { fleet: string; robot: string }, offer: Offer): string {
    const clean = (s: string) =>
      s
        .split('/')
        .filter((seg) => seg !== '' && seg !== '.' && seg !== '..')
        .join('/');
    const path = clean(offer.path) || offer.file_id.replace(/[^A-Za-z0-9._-]/g, '_');
    return `${this.#prefix}${clean(robotFleet.fleet) || '_'}/${clean(robotFleet.robot) || '_'}/${path}`;
  }

  close(): void {
    this.#client.destroy();
  }

  async #create(objectKey: string): Promise<string> {
    const r = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: objectKey }));
    if (!r.UploadId) throw new Error(`the storage gave no upload id for ${objectKey}`);
    return r.UploadId;
  }

  /**
   * The parts an upload already holds, or undefined when the storage no longer knows it, or its parts were
   * cut at another part size (then it is aborted and a fresh one made).
   */
  async #resume(key: string, uploadId: string, partSize: number, size: number): Promise<UploadedPart[] | undefined> {
    let listed: UploadedPart[];
    try {
      listed = await this.#listParts(key, uploadId);
    } catch (e) {
      if (errorName(e) === 'NoSuchUpload') return undefined;
      throw e;
    }
    // A part listed with an empty ETag is one the storage is still writing or cannot read (MinIO lists part.N
    // before its metadata is written): not held, so it is sent again. The others must fit this part size.
    listed = listed.filter((p) => p.etag.replaceAll('"', '') !== '');
    const total = partCount(size, partSize);
    const fits = listed.every((p) => {
      const r = partRange(p.part_number, partSize, size);
      return p.part_number <= total && p.size === r.end - r.start;
    });
    if (fits) return listed;
    await this.#client
      .send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }))
      .catch(() => {}); // a fresh upload is made whatever happens to the old one; the bucket's lifecycle ends it
    return undefined;
  }

  async #listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const r = await this.#client.send(
        new ListPartsCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      );
      for (const p of r.Parts ?? []) {
        parts.push({ part_number: p.PartNumber!, etag: p.ETag ?? '', size: p.Size ?? 0 });
      }
      if (!r.IsTruncated || !r.NextPartNumberMarker) return parts;
      marker = r.NextPartNumberMarker;
    }
  }

  async #hashObject(objectKey: string): Promise<string> {
    const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: objectKey }));
    const hash = createHash('sha256');
    for await (const chunk of r.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest('hex');
  }
}

function errorName(e: unknown): string | undefined {
  return (e as { name?: string; Code?: string }).Code ?? (e as Error).name;
}

function s3ErrorText(e: unknown): string {
  return `${errorName(e) ?? 'error'}: ${errorText(e)}`;
}
