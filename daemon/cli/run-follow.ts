import type { ApiClient } from '../api/index.ts';
import type { AgentEvent, AgentEventRecord, RunState } from '../contract/index.ts';
import { printable, shortId, sleep, withTimeout, errorText } from '../util/index.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { JournalEvents } from './journal-events.ts';

/** The states `intent --wait` waits for: the run ended, or it needs a person. */
export const WAIT_ENDS: ReadonlySet<string> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
  'awaiting_approval',
]);
const POLL_MS = 200;
const RECONNECT_MS = 1000;

export interface RunFollowOptions {
  client: ApiClient;
  io: CommandIO;
  json: boolean;
  timeoutS: number;
  /** One line for an agent event, as `runs show` writes it. */
  describe: (event: AgentEvent) => string;
}

/**
 * `intent --wait`: the run's events printed as they happen, from the journal's event stream (GET /events),
 * until the run ends or waits for approval. The stream is opened before the intent is sent, so no record of
 * the run can come before it; if it breaks it is resumed from the last record read (Last-Event-ID), and if
 * the API refuses a stream (too many open) the run is polled instead (GET /runs/ID, every 200 ms). Each
 * event is printed once, whichever way it came.
 */
export class RunFollow {
  #client: ApiClient;
  #io: CommandIO;
  #json: boolean;
  #timeoutS: number;
  #describe: (event: AgentEvent) => string;
  #deadline = 0;
  #printed = new Set<string>();
  #run: RunState | undefined;
  /** The run's latest state seen, for the message when the wait times out. */
  #latest: RunState | undefined;
  #stream: JournalEvents | undefined;
  /** The last journal seq the stream gave (or the journal's end when it opened): where a resumed stream starts. */
  #lastSeq: number | undefined;

  constructor(options: RunFollowOptions) {
    ({
      client: this.#client,
      io: this.#io,
      json: this.#json,
      timeoutS: this.#timeoutS,
      describe: this.#describe,
    } = options);
  }

  /** Sends the intent (`submit`), then follows its run until it ends; resolves with the run as it ended. */
  async run(submit: () => Promise<RunState>): Promise<RunState> {
    // Monotonic: an NTP step neither ends nor stretches the wait.
    this.#deadline = performance.now() + this.#timeoutS * 1000;
    this.#stream = await this.#open(undefined);
    try {
      const run = await submit();
      this.#run = run;
      this.#latest = run;
      if (!this.#json) this.#io.stdout(`run ${shortId(run.run_id)}: ${run.status}\n`);
      // Ended before the reply (a repeated intent's old run, or one that asked for approval at once): its
      // events are all in the run's view.
      if (WAIT_ENDS.has(run.status)) return await this.#poll();
      for (;;) {
        if (!this.#stream) return await this.#poll();
        const ended = await this.#fromStream(this.#stream);
        if (ended) return ended;
        this.#stream.close();
        this.#stream = await this.#reopen();
      }
    } finally {
      this.#stream?.close();
    }
  }

  /** Reads the stream until the run ends (its state), or the stream ends (undefined). */
  async #fromStream(stream: JournalEvents): Promise<RunState | undefined> {
    const runId = this.#run!.run_id;
    for (;;) {
      const event = await this.#beforeDeadline(stream.next());
      this.#lastSeq = stream.journalSeq !== undefined ? Math.max(this.#lastSeq ?? 0, stream.journalSeq) : this.#lastSeq;
      if (!event) return undefined;
      if (event.id !== undefined && /^\d+$/.test(event.id)) this.#lastSeq = Number(event.id);
      if (event.event === 'gap') {
        this.#io.stderr(
          `auraison-edge intent: the event stream skipped journal records (${event.data}): events may be missing\n`,
        );
        continue;
      }
      const record = JSON.parse(event.data) as { kind?: string; data?: { run_id?: unknown } };
      if (record.data?.run_id !== runId) continue;
      // A tool call's record carries the events written with it, before it (see AgentEventRecord).
      if (record.kind === 'agent_event') for (const e of eventsOf(record.data as AgentEventRecord)) this.#event(e);
      else if (record.kind === 'run_state') {
        const state = record.data as RunState;
        this.#state(state);
        if (WAIT_ENDS.has(state.status)) return state;
      }
    }
  }

  /** Follows the run through GET /runs/ID: each new event, until its state is one the wait ends at. */
  async #poll(): Promise<RunState> {
    for (;;) {
      const { run, events } = await this.#client.get<{ run: RunState; events: AgentEvent[] }>(
        `/runs/${this.#run!.run_id}`,
      );
      for (const event of events) this.#event(event);
      if (WAIT_ENDS.has(run.status)) return run;
      this.#latest = run;
      if (performance.now() > this.#deadline) throw this.#timedOut();
      await sleep(POLL_MS);
    }
  }

  /** The stream, or undefined (after saying why) when the API will not give one: the run is polled then. */
  async #open(lastEventId: number | undefined): Promise<JournalEvents | undefined> {
    try {
      return await JournalEvents.open(this.#client.target, {
        kinds: 'agent_event,run_state',
        ...(lastEventId !== undefined ? { lastEventId } : {}),
      });
    } catch (error) {
      const { status } = error as { status?: number };
      // No daemon, or a wrong token: sending the intent fails too, and says so.
      if (status !== 0 && status !== 401 && status !== 403) {
        this.#io.stderr(`auraison-edge intent: no event stream (${errorText(error)}); polling the run instead\n`);
      }
      return undefined;
    }
  }

  /**
   * The stream again after it ended, from the last record read. While no daemon answers (it restarts) it is
   * tried every second until the wait's deadline; when the API refuses one, the run is polled instead.
   */
  async #reopen(): Promise<JournalEvents | undefined> {
    if (this.#lastSeq === undefined) return undefined;
    let said = false;
    for (;;) {
      await this.#beforeDeadline(sleep(RECONNECT_MS));
      try {
        return await JournalEvents.open(this.#client.target, {
          kinds: 'agent_event,run_state',
          lastEventId: this.#lastSeq,
        });
      } catch (error) {
        if ((error as { status?: number }).status !== 0) return this.#open(this.#lastSeq);
        if (!said)
          this.#io.stderr(`auraison-edge intent: the event stream ended (${errorText(error)}); reconnecting\n`);
        said = true;
      }
    }
  }

  #event(event: AgentEvent): void {
    if (this.#printed.has(event.event_id)) return;
    this.#printed.add(event.event_id);
    const t_s = this.#since(event.ts);
    this.#line({ t_s, event }, event.kind, this.#describe(event));
  }

  #state(state: RunState): void {
    this.#latest = state;
    this.#line(
      { t_s: this.#since(state.updated_at), state },
      'state',
      `${state.status}${state.reason ? `: ${state.reason}` : ''}`,
    );
  }

  #line(json: { t_s: number; event?: AgentEvent; state?: RunState }, kind: string, text: string): void {
    // What a model or a tool said reaches the terminal: its control characters are shown as escapes.
    this.#io.stdout(
      this.#json
        ? `${JSON.stringify(json)}\n`
        : `${`+${json.t_s.toFixed(3)}s`.padStart(10)}  ${kind.padEnd(18)} ${printable(text)}\n`,
    );
  }

  /** Seconds since the run was created. */
  #since(ts: string): number {
    return Number(BigInt(ts) - BigInt(this.#run!.created_at)) / 1e9;
  }

  /** `work`, unless the wait's deadline comes first: then an error saying the run had not ended. */
  #beforeDeadline<T>(work: Promise<T>): Promise<T> {
    return withTimeout(work, Math.max(0, this.#deadline - performance.now()), () => this.#timedOut());
  }

  #timedOut(): Error {
    const run = this.#latest!;
    return new Error(`run ${shortId(run.run_id)} still ${run.status} after ${this.#timeoutS} s`);
  }
}

/**
 * The events of an agent_event record, those it carries (`noted`) first: contract's agentEventsOf, written
 * out here so that following a run does not load the contract's schemas into the CLI.
 */
function eventsOf(data: AgentEventRecord): AgentEvent[] {
  const { noted, ...event } = data;
  if (!Array.isArray(noted)) return [event];
  const carried = noted.filter((n) => typeof n === 'object' && n !== null);
  return [...carried.map((n) => ({ ...n, run_id: data.run_id, ts: data.ts })), event];
}
