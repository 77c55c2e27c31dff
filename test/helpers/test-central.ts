import { GrantMaker } from '../../central/presign.ts';
import {
  GRANTS_SCHEMA,
  type Complete,
  type GrantsMessage,
  type Lost,
  type Offer,
} from '../../central-link/sync-protocol.ts';
import { publishCommand } from './command-key.ts';
import type { Minio } from './minio.ts';
import { centralClient, type Received } from './mosquitto.ts';
import { errorText } from '../../daemon/util/index.ts';
import { waitFor } from './wait.ts';

/** How the test central answers an offer. */
export type OfferAnswer = 'grant' | 'later' | 'not_wanted' | 'expired' | 'ignore';

export interface TestCentralOptions {
  brokerUrl: string;
  minio: Minio;
  bucket: string;
  /** Where the robot reaches the storage (a fault proxy in front of MinIO); default MinIO's own endpoint. */
  endpoint?: string;
  prefix?: string;
  fleet?: string;
  /** Files of this size or more are granted multipart (default 8 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of multipart grants (default and least 5 MiB). */
  partSizeBytes?: number;
  /** How offers are answered at first (`answer` can be changed later). */
  answer?: OfferAnswer;
  /** The first this many `complete`s are answered `rejected` (the object is not checked). */
  rejectCompletes?: number;
  /** `later`'s retry_after_s (default 1). */
  retryAfterS?: number;
  clientId?: string;
}

/**
 * A minimal central for edge tests: subscribes to `<prefix>/<fleet>/+/uploads` (and events) on a real
 * broker, answers offers with GrantMaker's presigned URLs on a real MinIO (or later / not_wanted / an
 * already-expired grant / nothing), completes and verifies uploads and confirms `stored`, or `rejected`.
 * It keeps everything it got, for the test to read.
 */
export async function startTestCentral(options: TestCentralOptions) {
  const {
    brokerUrl,
    minio,
    bucket,
    prefix = 'auraison',
    fleet = 'lab',
    multipartThresholdBytes = 8 * 1024 * 1024,
    partSizeBytes = 5 * 1024 * 1024,
    retryAfterS = 1,
    clientId = 'test-central',
    endpoint = minio.endpoint,
  } = options;
  const storage = {
    endpoint,
    region: minio.region,
    bucket,
    access_key_id: minio.accessKeyId,
    secret_access_key: minio.secretAccessKey,
    force_path_style: true,
    url_ttl_s: 600,
    multipart_threshold_bytes: multipartThresholdBytes,
    part_size_bytes: partSizeBytes,
    prefix: '',
  };
  const grants = new GrantMaker(storage);
  // URLs that expire a second after they are made: granted, then sent once they have.
  const expiring = new GrantMaker({ ...storage, url_ttl_s: 1 });
  const link = await centralClient(brokerUrl, [`${prefix}/${fleet}/+/uploads`, `${prefix}/${fleet}/+/events`], {
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
  });
  const state = {
    answer: options.answer ?? ('grant' as OfferAnswer),
    offers: [] as Offer[],
    completes: [] as Complete[],
    lost: [] as Lost[],
    /** file_id -> object key, once verified. */
    stored: new Map<string, string>(),
    rejected: [] as { file_id: string; reason: string }[],
    errors: [] as string[],
  };
  const send = async (robot: string, message: GrantsMessage) => {
    await publishCommand(link.client, `${prefix}/${fleet}/${robot}/grants`, JSON.stringify(message));
  };
  const ts = () => `${Date.now()}000000`;
  const onOffer = async (robot: string, offer: Offer) => {
    state.offers.push(offer);
    const key = grants.objectKey({ fleet, robot }, offer);
    switch (state.answer) {
      case 'ignore':
        return;
      case 'later':
        return send(robot, {
          schema: GRANTS_SCHEMA,
          type: 'later',
          file_id: offer.file_id,
          retry_after_s: retryAfterS,
          reason: 'busy',
          ts: ts(),
        });
      case 'not_wanted':
        return send(robot, {
          schema: GRANTS_SCHEMA,
          type: 'not_wanted',
          file_id: offer.file_id,
          reason: 'policy',
          ts: ts(),
        });
      case 'expired': {
        const grant = await expiring.grant(offer, key);
        // Sent once its URLs have expired: S3 signs to the second, so a second past expires_at.
        await waitFor(() => Date.now() > grant.expires_at + 1000, 'the grant to expire', 10_000);
        return send(robot, grant);
      }
      case 'grant':
        return send(robot, await grants.grant(offer, key));
    }
  };
  const onComplete = async (robot: string, complete: Complete) => {
    state.completes.push(complete);
    const verdict =
      state.completes.length <= (options.rejectCompletes ?? 0)
        ? { ok: false as const, reason: 'the test central rejects it' }
        : await grants.complete(complete);
    if (verdict.ok) {
      state.stored.set(complete.file_id, complete.object_key);
      const { file_id, object_key, sha256, size } = complete;
      return send(robot, { schema: GRANTS_SCHEMA, type: 'stored', file_id, object_key, sha256, size, ts: ts() });
    }
    state.rejected.push({ file_id: complete.file_id, reason: verdict.reason });
    return send(robot, {
      schema: GRANTS_SCHEMA,
      type: 'rejected',
      file_id: complete.file_id,
      reason: verdict.reason,
      ts: ts(),
    });
  };
  link.client.on('message', (topic: string, payload: Buffer) => {
    const [, , robot, kind] = topic.slice(prefix.length).split('/');
    if (kind !== 'uploads' || !robot) return;
    const m = JSON.parse(payload.toString()) as Offer | Complete | Lost;
    const handled =
      m.type === 'offer'
        ? onOffer(robot, m)
        : m.type === 'complete'
          ? onComplete(robot, m)
          : (state.lost.push(m), undefined);
    void Promise.resolve(handled).catch((error: unknown) => state.errors.push(errorText(error)));
  });
  return {
    state,
    /** Changes how offers are answered from now on. */
    answerWith(answer: OfferAnswer) {
      state.answer = answer;
    },
    send,
    /** Grants an offer now, whatever `answer` says (a grant that comes late, after the file went). */
    async grant(robot: string, offer: Offer) {
      await send(robot, await grants.grant(offer, grants.objectKey({ fleet, robot }, offer)));
    },
    /** The events records central got (duplicates kept), for a robot. */
    events(robot: string): { seq: number }[] {
      return link.received
        .filter((m: Received) => m.topic === `${prefix}/${fleet}/${robot}/events`)
        .flatMap((m) => (m.json as { records: { seq: number }[] }).records);
    },
    async close() {
      grants.close();
      expiring.close();
      await link.end();
    },
  };
}

export type TestCentral = Awaited<ReturnType<typeof startTestCentral>>;
