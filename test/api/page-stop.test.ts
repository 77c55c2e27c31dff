import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiComponent } from '../../daemon/api/api-component.ts';
import type {
  RobotHaltOutcome,
  RobotHaltService,
  HaltLatchState,
  HaltReleaseOutcome,
} from '../../daemon/contract/halt.ts';
import type { Component, ComponentHealth } from '../../daemon/lifecycle/component.ts';
import { ROOT } from '../helpers/cli.ts';
import { recordCmdVel } from '../helpers/cmd-vel.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { sharedChromium } from './chromium.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// The status page's STOP button: one click stops the robot (POST /stop), and the line beside it says what
// was stopped, or that the robot was NOT stopped, so the operator knows to reach for the hardware e-stop.
// A stop that latches (motion.stop.latch) shows as a banner beside the button until a person releases it
// there (POST /stop/release, after a confirm).

const cleanups = cleanupStack();
/** One browser for the file; each test gets a fresh context (a new profile) from `open`. */
const chromium = sharedChromium();
afterAll(() => chromium.close());

/**
 * TEST ONLY. The agent's stop and nothing else of the agent (component `agent`): it records each call and
 * answers `outcome`; with `hold` set, the answers wait until `release`. It holds the latch the outcome names
 * (`latch`, in its health as the agent's is) until `releaseStop`, which fails with `releaseError` when set.
 */
class StopOnlyAgent implements Component, RobotHaltService {
  readonly name = 'agent';
  readonly calls: { by: string; reason: string | undefined }[] = [];
  readonly releases: string[] = [];
  latch: HaltLatchState | null = null;
  releaseError: string | undefined;
  hold = false;
  #held: (() => void)[] = [];

  constructor(public outcome: RobotHaltOutcome) {}

  async start(): Promise<void> {}
  async close(): Promise<void> {
    this.release();
  }
  health(): ComponentHealth {
    return { state: 'running', details: { stop_latch: this.latch } };
  }

  async halt(by: string, reason?: string): Promise<RobotHaltOutcome> {
    this.calls.push({ by, reason });
    if (this.hold) await new Promise<void>((resolve) => this.#held.push(resolve));
    this.latch = this.outcome.latched ?? this.latch;
    return this.outcome;
  }

  /** The `since` each release named: the latch the page showed. */
  releaseSinces: (string | undefined)[] = [];

  async releaseHalt(by: string, since?: string): Promise<HaltReleaseOutcome> {
    this.releases.push(by);
    this.releaseSinces.push(since);
    if (this.releaseError) throw new Error(this.releaseError);
    const was = this.latch;
    this.latch = null;
    return { released: was !== null, latch: was };
  }

  get waiting(): number {
    return this.#held.length;
  }

  release(): void {
    for (const go of this.#held.splice(0)) go();
  }
}

/** Where a screenshot goes (test/.tmp is git-ignored). */
function shot(name: string): string {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, name);
}
const SHOTS = join(ROOT, 'test', '.tmp');

const RUNS = ['0190aaaa-0000-7000-8000-000000000001', '0190aaaa-0000-7000-8000-000000000002'];

async function harness(options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(options);
  cleanups.push(() => h.close());
  return h;
}

/**
 * The page in a fresh browser context; errors thrown in the page's code are collected in `errors`. With
 * `clock`, the page runs on Playwright's clock, which flows as the real one until `askStatusNow` moves it on.
 */
async function open(
  url: string,
  { clock = false } = {},
): Promise<{ page: Page; errors: string[]; browser: BrowserContext }> {
  const browser = await chromium.context({ viewport: { width: 1280, height: 900 } });
  cleanups.push(() => browser.close());
  const page = await browser.newPage();
  if (clock) await page.clock.install(); // before the page's code runs, so that its timers are the clock's
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors, browser };
}

const stopButton = (page: Page) => page.getByRole('button', { name: 'STOP robot' });
const resultLine = (page: Page) => page.locator('#stop-result');
const latchBanner = (page: Page) => page.locator('#stop-latch');
const releaseButton = (page: Page) => page.getByRole('button', { name: 'Release stop' });
const releaseLine = (page: Page) => page.locator('#release-result');

/** A latch as the agent reports it, latched by the page now unless told otherwise. */
function latchOf(over: Partial<HaltLatchState> = {}): HaltLatchState {
  return { by: 'status-page', reason: null, since: new Date().toISOString(), persisted: true, error: null, ...over };
}

/** Answers the page's confirm()s (accept, or dismiss when `accept` is false), keeping their messages. */
function confirms(page: Page): { messages: string[]; accept: boolean } {
  const seen = { messages: [] as string[], accept: true };
  page.on('dialog', (dialog) => {
    seen.messages.push(dialog.message());
    void (seen.accept ? dialog.accept() : dialog.dismiss());
  });
  return seen;
}

/**
 * Cuts the page off /status (each fails as with no connection) and resolves once one was refused: the page
 * asks one at a time, so none asked before is still on its way. What the page shows of the latch from then
 * on came from the replies to its own POSTs.
 */
async function cutStatus(page: Page): Promise<void> {
  let refused!: () => void;
  const once = new Promise<void>((resolve) => (refused = resolve));
  await page.route('**/status', async (route) => {
    refused();
    await route.abort();
  });
  await askStatusNow(page);
  await once;
}

/**
 * Holds the page's next /status: the daemon's answer of the moment it was asked, handed to the page only when
 * the function this resolves to is called, its robot id set to `mark` so that the page shows when it took it
 * in. The page asks one at a time: none other comes meanwhile.
 */
async function holdNextStatus(page: Page, mark: string): Promise<() => Promise<void>> {
  let caught!: (deliver: () => Promise<void>) => void;
  const held = new Promise<() => Promise<void>>((resolve) => (caught = resolve));
  await page.route(
    '**/status',
    async (route) => {
      const response = await route.fetch();
      const json = (await response.json()) as { robot: { id: string } };
      json.robot.id = mark;
      caught(() => route.fulfill({ response, json }));
    },
    { times: 1 },
  );
  await askStatusNow(page);
  return held;
}

/** How often the page asks /status (app.js: setInterval(tick, 2000)). */
const STATUS_EVERY_MS = 2000;

/**
 * Has the page (opened with `clock`) ask /status now rather than at its next tick, up to 2 s away: its clock
 * jumps 2 s, which fires that tick as the time passing would. A jump of a few seconds changes nothing else
 * the page shows: its event streams are stale after 3 heartbeats (15 s). Were a tick still on its way (asked
 * before the caller's route was set), the fired one would ask nothing, the page asking one at a time, and
 * the tick after it, 2 s later as the clock flows, would be the one asked: slower, the same test.
 */
async function askStatusNow(page: Page): Promise<void> {
  await page.clock.fastForward(STATUS_EVERY_MS);
}

/** The banner's sentence for a latch, the time as the page's browser writes it. */
async function latchText(page: Page, latch: HaltLatchState): Promise<string> {
  const time = await page.evaluate((since) => new Date(since).toLocaleTimeString(), latch.since);
  return `STOPPED (latched) by ${latch.by} at ${time}${latch.reason ? `: ${latch.reason}` : ''}`;
}

/** The line once it tells an answer (not `sending`): its state and its text. */
async function answer(page: Page): Promise<{ state: string | null; text: string }> {
  await page.locator('#stop-result[data-state="stopped"], #stop-result[data-state="failed"]').waitFor();
  return {
    state: await resultLine(page).getAttribute('data-state'),
    text: (await resultLine(page).textContent()) ?? '',
  };
}

describe('the STOP button of the status page', () => {
  it('stops the robot in one click, as "status-page", and says what was stopped and cancelled', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: 'navigate_to',
      cancelled: RUNS,
      journal_error: null,
      latched: null,
    });
    const h = await harness({ components: [agent] });
    const { page, errors } = await open(h.url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    const button = stopButton(page);
    expect(await button.getAttribute('aria-label')).toMatch(/^STOP robot/);
    expect(await button.textContent()).toBe('STOP robot');

    await button.click();
    expect(await answer(page)).toEqual({
      state: 'stopped',
      text: expect.stringMatching(/^stopped \S.*: zero Twist on \/cmd_vel, navigate_to aborted, 2 runs cancelled$/),
    });
    expect(agent.calls).toEqual([{ by: 'status-page', reason: undefined }]);
    // The cancelled runs' ids are a hover away.
    expect(await resultLine(page).getAttribute('title')).toBe(RUNS.join('\n'));
    expect(await button.getAttribute('aria-busy')).toBe('false');
    expect(await button.isEnabled()).toBe(true);
    // Stops that do not latch (motion.stop.latch false) show no latch.
    expect(await latchBanner(page).isVisible()).toBe(false);

    // From the keyboard (a real button: Tab to it, Space), nothing to stop, and a journal on a full disk.
    agent.outcome = {
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: 'journal: cannot append: the disk is full',
      latched: null,
    };
    await button.focus();
    await page.keyboard.press('Space');
    await page.locator('#stop-result .warning').waitFor();
    expect(agent.calls).toHaveLength(2);
    expect(await resultLine(page).locator('.stopped').textContent()).toMatch(
      /^stopped \S.*: zero Twist on \/cmd_vel, no run was active$/,
    );
    expect(await resultLine(page).locator('.warning').textContent()).toBe(
      'warning: the cancels were not all journaled (journal: cannot append: the disk is full); the runs are stopped, and read interrupted after a restart',
    );
    expect(errors).toEqual([]);
  });

  it('shows that it is sending while the daemon has not answered, and sends each click', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [RUNS[0]!],
      journal_error: null,
      latched: null,
    });
    agent.hold = true;
    const h = await harness({ components: [agent] });
    const { page } = await open(h.url);
    const button = stopButton(page);
    await button.click();
    await waitFor(() => agent.waiting === 1, 'the first stop to reach the agent');
    expect(await button.getAttribute('aria-busy')).toBe('true');
    expect(await button.getAttribute('class')).toContain('sending');
    expect(await resultLine(page).getAttribute('data-state')).toBe('sending');
    expect(await resultLine(page).textContent()).toMatch(/^sending the stop \(.+\): not confirmed yet$/);

    // Still clickable: a second stop goes out while the first is unanswered.
    expect(await button.isEnabled()).toBe(true);
    await button.click();
    await waitFor(() => agent.waiting === 2, 'the second stop to reach the agent');
    agent.release();
    expect(await answer(page)).toEqual({
      state: 'stopped',
      text: expect.stringMatching(/: zero Twist on \/cmd_vel, 1 run cancelled$/),
    });
    await page.locator('#stop[aria-busy="false"]').waitFor();
    expect(await button.getAttribute('class')).not.toContain('sending');
    expect(agent.calls).toEqual([
      { by: 'status-page', reason: undefined },
      { by: 'status-page', reason: undefined },
    ]);
  });

  it("says NOT stopped, with the daemon's reason, when no zero Twist can be sent (no agent running), and the page goes on", async () => {
    const h = await harness();
    // With no agent the daemon still stops the robot itself; here the velocity topic is taken with a type
    // that is no velocity, so no zero can go out (a TwistStamped base would get a zero TwistStamped).
    h.bus.advertise('/cmd_vel', 'std_msgs/msg/String', { source: 'other' });
    const { page, errors } = await open(h.url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    const direct = await http(h.url, '/stop', { method: 'POST' });
    expect(direct.status).toBe(500);

    await stopButton(page).click();
    const { state, text } = await answer(page);
    expect(state).toBe('failed');
    expect(text).toBe(`NOT stopped: ${direct.json.message} — use the robot's hardware e-stop`);
    expect(text).toContain('the zero Twist could not be sent to /cmd_vel');
    // It is the red text, and the rest of the page works: the runs table says why it has no runs.
    expect(await resultLine(page).locator('.failed').textContent()).toBe(`NOT stopped: ${direct.json.message}`);
    await page
      .locator('#runs tbody td', { hasText: 'the agent is unavailable: component agent is not running' })
      .waitFor();
    await page.screenshot({ path: shot('status-page-not-stopped.png') });
    expect(errors).toEqual([]);
  });

  it('says NOT stopped when the daemon does not answer', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: null,
    });
    const h = await harness({ components: [agent] });
    const { page } = await open(h.url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    await (h.api as ApiComponent).close();

    await stopButton(page).click();
    expect(await answer(page)).toEqual({
      state: 'failed',
      text: "NOT stopped: /stop: the daemon is unreachable (no connection) — use the robot's hardware e-stop",
    });
    expect(agent.calls).toEqual([]);
  });

  it('sends the token the page was given, and without one asks for it and says NOT stopped', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: null,
    });
    const h = await harness({ components: [agent], api: { token: 'stop-secret' } });
    const { page, browser } = await open(h.url);
    await stopButton(page).click();
    expect(await answer(page)).toEqual({
      state: 'failed',
      text: "NOT stopped: the API needs its bearer token (api.token): enter it above and press STOP again — use the robot's hardware e-stop",
    });
    expect(await page.locator('#token-form').isVisible()).toBe(true);
    expect(agent.calls).toEqual([]);

    const withToken = await browser.newPage();
    await withToken.goto(`${h.url}/#token=stop-secret`);
    await stopButton(withToken).click();
    expect((await answer(withToken)).state).toBe('stopped');
    expect(agent.calls).toEqual([{ by: 'status-page', reason: undefined }]);
  });

  it('stops a robot the sim drives on a real daemon: the run is cancelled, the last Twist is zero, and the stop holds until Release', async () => {
    const started = await startDaemon(
      { sim: { enabled: true, speed: 1 }, api: { port: 0 }, foxglove: { enabled: false } },
      'page-stop-',
    );
    cleanups.push(started.stop);
    const { daemon, codec } = started;
    const url = daemon.ports.get(PORTS.api)!.url!;
    const twists = recordCmdVel(daemon.bus, codec);
    const isZero = (t: { linear: number; angular: number }) => t.linear === 0 && t.angular === 0;
    const { page, errors } = await open(url);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();

    // The charging dock, across the maze from the start: the drive is long.
    const created = await http(url, '/intents', { body: { type: 'navigate_to', params: { x: 6.55, y: 1.55 } } });
    expect(created.status, created.text).toBe(201);
    const runId = (created.json.run as { run_id: string }).run_id;
    await waitFor(() => twists.some((t) => !isZero(t)), 'the robot to drive');
    await page.locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'running' }).waitFor();

    await stopButton(page).click();
    expect(await answer(page)).toEqual({
      state: 'stopped',
      text: expect.stringMatching(/^stopped \S.*: zero Twist on \/cmd_vel, navigate_to aborted, 1 run cancelled$/),
    });
    expect(isZero(twists.at(-1)!)).toBe(true);
    const run = (await http(url, `/runs/${runId}`)).json.run;
    expect(run).toMatchObject({ status: 'cancelled', reason: 'cancelled by status-page: stop' });
    await page.locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'cancelled' }).waitFor();
    await page.screenshot({ path: shot('status-page-stopped.png') });

    // The stop latched (motion.stop.latch is on by default) until Release, after a confirm, lets go of it.
    const agentDetails = async () =>
      (
        (await http(url, '/status')).json.components as Record<
          string,
          { details: { stop_latch: HaltLatchState | null } }
        >
      ).agent!.details;
    const { stop_latch: latch } = await agentDetails();
    expect(latch).toMatchObject({ by: 'status-page', reason: null, persisted: true, error: null });
    expect(await page.locator('#stop-latch-text').textContent()).toBe(await latchText(page, latch!));
    confirms(page);
    await releaseButton(page).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await latchBanner(page).isVisible()).toBe(false);
    expect((await agentDetails()).stop_latch).toBeNull();
    expect(errors).toEqual([]);
  });
});

describe('the latched stop on the status page', () => {
  it('shows the latch a stop engaged from its reply, and releases it after a confirm: the banner goes', async () => {
    const latched = latchOf();
    const agent = new StopOnlyAgent({ topic: '/cmd_vel', aborted: null, cancelled: [], journal_error: null, latched });
    const h = await harness({ components: [agent] });
    const { page, errors } = await open(h.url, { clock: true });
    const asked = confirms(page);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    expect(await latchBanner(page).isVisible()).toBe(false);
    await cutStatus(page);

    await stopButton(page).click();
    expect((await answer(page)).state).toBe('stopped');
    expect(await latchBanner(page).isVisible()).toBe(true);
    expect(await page.locator('#stop-latch-text').textContent()).toBe(await latchText(page, latched));
    expect(await page.locator('#stop-latch-warning').isVisible()).toBe(false);
    expect(asked.messages).toEqual([]); // the STOP asks nothing

    // Dismissed, the confirm releases nothing.
    asked.accept = false;
    await releaseButton(page).click();
    expect(asked.messages).toEqual([
      expect.stringMatching(/^Release the stop latched by status-page\? The robot may be moved again/),
    ]);
    expect(await latchBanner(page).isVisible()).toBe(true);

    asked.accept = true;
    await releaseButton(page).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await releaseLine(page).textContent()).toMatch(
      /^released \S.*: the robot may move again; nothing that was stopped restarts by itself$/,
    );
    expect(await latchBanner(page).isVisible()).toBe(false);
    expect(agent.releases).toEqual(['status-page']);
    // the latch it showed, so a newer one is not released unseen
    expect(agent.releaseSinces).toEqual([agent.outcome.latched!.since]);
    expect(asked.messages).toHaveLength(2);

    // The next STOP latches again, and the release told of before it is gone.
    await stopButton(page).click();
    expect((await answer(page)).state).toBe('stopped');
    expect(await latchBanner(page).isVisible()).toBe(true);
    expect(await releaseLine(page).textContent()).toBe('');
    expect(errors).toEqual([]);
  });

  it('lets no /status asked before a stop or a release was answered undo what its reply showed', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: latchOf(),
    });
    const h = await harness({ components: [agent] });
    const { page, errors } = await open(h.url, { clock: true });
    confirms(page);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();

    const beforeStop = await holdNextStatus(page, 'asked-before-the-stop');
    await stopButton(page).click();
    expect((await answer(page)).state).toBe('stopped');
    await beforeStop();
    await page.locator('#robot', { hasText: 'asked-before-the-stop' }).waitFor();
    expect(await latchBanner(page).isVisible()).toBe(true);

    const beforeRelease = await holdNextStatus(page, 'asked-before-the-release');
    await releaseButton(page).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    await beforeRelease();
    await page.locator('#robot', { hasText: 'asked-before-the-release' }).waitFor();
    expect(await latchBanner(page).isVisible()).toBe(false);

    // A /status asked since tells the latch as it is.
    await askStatusNow(page);
    await page.locator('#robot', { hasText: h.config.robot.id }).waitFor();
    expect(await latchBanner(page).isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });

  it('keeps the banner and says why when the release fails, with the warning of a latch file not written', async () => {
    const notWritten =
      'the latch could not be written to /data/state/stop-latch.json (ENOSPC: no space left on device): it holds until the daemon stops, and a restart would not find it';
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: latchOf({ persisted: false, error: notWritten }),
    });
    agent.releaseError =
      'the stop latch could not be released: /data/state/stop-latch.json could not be removed (EACCES: permission denied); the robot stays stopped';
    const h = await harness({ components: [agent] });
    const { page, errors } = await open(h.url, { clock: true });
    confirms(page);
    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    await cutStatus(page);

    await stopButton(page).click();
    expect((await answer(page)).state).toBe('stopped');
    expect(await page.locator('#stop-latch-warning').isVisible()).toBe(true);
    expect(await page.locator('#stop-latch-warning').textContent()).toBe(`warning: ${notWritten}`);

    await releaseButton(page).click();
    await page.locator('#release-result[data-state="failed"]').waitFor();
    expect(await releaseLine(page).textContent()).toBe(
      `release failed: ${agent.releaseError} — the stop is still latched`,
    );
    expect(await latchBanner(page).isVisible()).toBe(true);
    expect(await releaseButton(page).isEnabled()).toBe(true);
    expect(agent.releases).toEqual(['status-page']);

    // Once the daemon can, a second try releases it.
    agent.releaseError = undefined;
    await releaseButton(page).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await latchBanner(page).isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });

  it('shows the latch the daemon holds when the page opens, and says so when none was left to release', async () => {
    const agent = new StopOnlyAgent({
      topic: '/cmd_vel',
      aborted: null,
      cancelled: [],
      journal_error: null,
      latched: null,
    });
    const notWritten =
      'the latch could not be written to /data/state/stop-latch.json (EROFS: read-only file system): it holds until the daemon stops, and a restart would not find it';
    agent.latch = latchOf({ by: 'operator', reason: 'bumper hit', persisted: false, error: notWritten });
    const h = await harness({ components: [agent] });
    const { page, errors } = await open(h.url, { clock: true });
    confirms(page);
    await latchBanner(page).waitFor();
    expect(await page.locator('#stop-latch-text').textContent()).toBe(await latchText(page, agent.latch));
    expect(await page.locator('#stop-latch-warning').isVisible()).toBe(true);
    expect(await page.locator('#stop-latch-warning').textContent()).toBe(`warning: ${notWritten}`);
    // held by the latch: the badge says so, not a green "health ok"
    await page.locator('#health', { hasText: 'STOPPED' }).waitFor();
    await page.screenshot({ path: shot('status-page-latched.png') });

    // Released elsewhere (auraison-edge stop --release) before the page heard of it.
    await cutStatus(page);
    agent.latch = null;
    await releaseButton(page).click();
    await page.locator('#release-result[data-state="released"]').waitFor();
    expect(await releaseLine(page).textContent()).toBe('no stop was latched: nothing to release');
    expect(await latchBanner(page).isVisible()).toBe(false);
    expect(agent.releases).toEqual(['status-page']);
    expect(errors).toEqual([]);
  });
});
