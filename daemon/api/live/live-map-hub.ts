import type { ServerResponse } from 'node:http';
import type { Bus } from '../../bus/index.ts';
import type { MessageCodec } from '../../bus/index.ts';
import type { MetricFamily } from '../../contract/index.ts';
import { PING_FRAME, sseHeaders } from '../sse/sse-frame.ts';
import { LiveMap, type LiveKind } from './live-map.ts';
import { counter, counterBy, gauge } from '../../util/index.ts';

/**
 * Viewers of the live 2D map (GET /live/map, SSE). The LiveMap and its bus subscriptions exist only while
 * someone watches. Every update is the latest state of its kind, so a viewer whose socket is full simply
 * misses intermediate states: the kinds that changed are marked and their latest value is sent on drain.
 */
export class LiveMapHub {
  #bus: Bus;
  #codec: MessageCodec;
  #maxBufferedBytes: number;
  #stallTimeoutMs: number;
  #heartbeatMs: number;
  #heartbeat: NodeJS.Timeout | undefined;
  #map: LiveMap | undefined;
  /** Each viewer's response and its ping (a `: ping` comment unless its buffer is full). */
  #viewers = new Map<ServerResponse, () => void>();
  #skipped = 0;
  #stalled = 0;
  #decodeErrors = new Map<string, number>();

  /**
   * `stallTimeoutMs`: a viewer whose buffer stays full this long, reading nothing, is cut off (as on /events).
   * `heartbeatMs`: how often each viewer gets a `: ping` comment; a map that does not change sends nothing
   * else, and its viewer must still tell a live stream from a dead one.
   */
  constructor(options: {
    bus: Bus;
    codec: MessageCodec;
    maxBufferedBytes: number;
    stallTimeoutMs: number;
    heartbeatMs: number;
  }) {
    this.#bus = options.bus;
    this.#codec = options.codec;
    this.#maxBufferedBytes = options.maxBufferedBytes;
    this.#stallTimeoutMs = options.stallTimeoutMs;
    this.#heartbeatMs = options.heartbeatMs;
  }

  get heartbeatMs(): number {
    return this.#heartbeatMs;
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  open(res: ServerResponse): void {
    res.writeHead(200, sseHeaders(this.#heartbeatMs));
    res.write('retry: 2000\n\n');
    this.#map ??= new LiveMap({ bus: this.#bus, codec: this.#codec });
    const map = this.#map;
    const dirty = new Set<LiveKind>();
    let waiting = false;
    let stallTimer: NodeJS.Timeout | undefined;
    const watchStall = (): void => {
      let lastBuffered = res.writableLength;
      const check = (): void => {
        // Progress (the viewer read something) re-arms the timer; none for a whole period cuts it off.
        if (res.writableLength >= lastBuffered) {
          this.#stalled++;
          res.destroy();
          return;
        }
        lastBuffered = res.writableLength;
        stallTimer = setTimeout(check, this.#stallTimeoutMs).unref();
      };
      stallTimer = setTimeout(check, this.#stallTimeoutMs).unref();
    };
    const send = (kind: LiveKind, json: string): void => {
      if (waiting || res.writableLength >= this.#maxBufferedBytes) {
        if (!dirty.has(kind)) this.#skipped++;
        dirty.add(kind);
        if (!waiting) {
          waiting = true;
          watchStall();
          res.once('drain', () => {
            clearTimeout(stallTimer);
            waiting = false;
            const latest = new Map(map.snapshot());
            const kinds = [...dirty];
            dirty.clear();
            for (const k of kinds) send(k, latest.get(k)!);
          });
        }
        return;
      }
      res.write(`event: ${kind}\ndata: ${json}\n\n`);
    };
    for (const [kind, json] of map.snapshot()) send(kind, json);
    const unlisten = map.listen(send);
    this.#viewers.set(res, () => {
      if (!waiting && !res.writableEnded) res.write(PING_FRAME);
    });
    this.#heartbeat ??= setInterval(() => {
      for (const ping of this.#viewers.values()) ping();
    }, this.#heartbeatMs).unref();
    res.on('close', () => {
      clearTimeout(stallTimer);
      unlisten();
      this.#viewers.delete(res);
      if (this.#viewers.size === 0) {
        clearInterval(this.#heartbeat);
        this.#heartbeat = undefined;
      }
      if (this.#viewers.size === 0 && this.#map === map) {
        for (const [topic, n] of map.decodeErrors)
          this.#decodeErrors.set(topic, (this.#decodeErrors.get(topic) ?? 0) + n);
        map.close();
        this.#map = undefined;
      }
    });
  }

  close(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const res of [...this.#viewers.keys()]) res.end();
    this.#map?.close();
    this.#map = undefined;
  }

  metrics(): MetricFamily[] {
    const errors = new Map(this.#decodeErrors);
    for (const [topic, n] of this.#map?.decodeErrors ?? []) errors.set(topic, (errors.get(topic) ?? 0) + n);
    return [
      gauge('auraison_live_map_viewers', "Viewers of the status page's live map.", this.#viewers.size),
      counter(
        'auraison_live_map_skipped_total',
        'Live map updates a slow viewer skipped (it got the latest state instead).',
        this.#skipped,
      ),
      counter(
        'auraison_live_map_stalled_total',
        'Live map viewers cut off for reading nothing for api.events.stall_timeout_s with a full buffer.',
        this.#stalled,
      ),
      counterBy(
        'auraison_live_map_decode_errors_total',
        'Messages the live map could not decode, by topic.',
        'topic',
        errors,
      ),
    ];
  }
}
