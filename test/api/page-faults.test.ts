import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ApiComponent } from '../../daemon/api/api-component.ts';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { tempDir } from '../helpers/cli.ts';
import { sharedChromium } from './chromium.ts';
import { waitFor } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startHarness, type Harness } from './harness.ts';

// The status page left open for days: in several tabs, and across daemon restarts.

let h: Harness | undefined;
/** An API started again in place of the harness's (a restarted daemon). */
let api: ApiComponent | undefined;
/** One browser for the file; each test's `browser` is a fresh context of it (a new profile). */
const chromium = sharedChromium();
let browser: BrowserContext | undefined;
/** A daemon run as a child process, and its data dir; killed and removed after the test. */
let child: { daemon: DaemonProcess; dir: { cleanup: () => void } } | undefined;
afterEach(async () => {
  if (child) {
    await child.daemon.kill(); // SIGKILL ends a stopped (SIGSTOP) process too
    child.dir.cleanup();
    child = undefined;
  }
  await browser?.close();
  browser = undefined;
  await api?.close();
  api = undefined;
  await h?.close();
  h = undefined;
});
afterAll(() => chromium.close());

/** Headless Chromium shows every tab; this is what the browser does when the user switches to another. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  // A string: this runs in the page, whose DOM types the daemon's tsconfig does not hold.
  await page.evaluate(`(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

/** How long the page waits before it connects a stream again (api.js: RETRY_MS). */
const RETRY_MS = 2000;

/**
 * Once the page has seen its event stream end (the daemon stopped), has it try again now rather than in
 * 2 s: the page runs on Playwright's clock (installed before it loaded), which jumps past that wait as the
 * time passing would. Only with no stream open: a jump is time without a heartbeat to an open one.
 */
async function retryNow(page: Page): Promise<void> {
  await page.locator('#stream:not([data-state="open"])').waitFor({ timeout: 20_000 });
  await page.clock.fastForward(RETRY_MS);
}

const event = (note: string) => ({
  kind: 'tool.call',
  run_id: '0190aaaa-0000-7000-8000-000000000001',
  payload: { note },
});

// A browser opens at most six connections to one host (HTTP/1.1), and each tab of the page follows two
// event streams: tabs that held them while hidden would leave no connection for a fourth tab to load, nor
// for the other tabs' requests.
describe('the status page in many tabs', () => {
  it('lets go of its event streams in a hidden tab, so a fourth tab loads, and catches up when shown again', async () => {
    h = await startHarness();
    const { hub, live } = h.api!.server!;
    browser = await chromium.context();
    const tabs: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await browser.newPage();
      await page.goto(`${h.url}/`);
      await page.locator('#stream', { hasText: 'events: open' }).waitFor({ timeout: 20_000 });
      tabs.push(page);
    }
    await h.journal.append('agent_event', event('before the user switched tabs'));
    for (const page of tabs)
      await page.locator('#events li', { hasText: 'before the user switched tabs' }).waitFor({ timeout: 20_000 });

    for (const page of tabs) await setHidden(page, true);
    await waitFor(() => hub.clients === 0 && live.viewers === 0, 'the hidden tabs to close their streams', 20_000);
    for (const page of tabs) expect(await page.locator('#stream').textContent()).toBe('events: paused');

    const fourth = await browser.newPage();
    await fourth.goto(`${h.url}/`, { timeout: 20_000 });
    await fourth.locator('#health', { hasText: 'health ok' }).waitFor({ timeout: 20_000 });
    await fourth.locator('#stream', { hasText: 'events: open' }).waitFor({ timeout: 20_000 });

    await h.journal.append('agent_event', event('while the first tab was hidden'));
    await setHidden(tabs[0]!, false);
    // Shown again, it resumes after the last event it had (Last-Event-ID): nothing is missed.
    await tabs[0]!.locator('#events li', { hasText: 'while the first tab was hidden' }).waitFor({ timeout: 20_000 });
    await tabs[0]!.locator('#stream', { hasText: 'events: open' }).waitFor({ timeout: 20_000 });
    await fourth.locator('#events li', { hasText: 'while the first tab was hidden' }).waitFor({ timeout: 20_000 });
    expect(await tabs[0]!.locator('#events li').count()).toBe(2);
  }, 120_000);
});

// Restarted on another data dir (a fresh journal), the daemon answers the tab's Last-Event-ID, past the new
// journal's end, with a `reset` event, which is not an agent event to list.
describe('the status page across a daemon restart', () => {
  it('follows the new journal after a reset, listing only its events', async () => {
    h = await startHarness();
    browser = await chromium.context();
    const page = await browser.newPage();
    await page.clock.install();
    await page.goto(`${h.url}/`);
    await page.locator('#stream', { hasText: 'events: open' }).waitFor({ timeout: 20_000 });
    for (const note of ['one', 'two', 'three']) await h.journal.append('agent_event', event(note));
    await page.locator('#events li', { hasText: 'three' }).waitFor({ timeout: 20_000 });

    // The daemon comes back on the same port with another data dir: its journal starts again at seq 1.
    const { port } = new URL(h.url);
    await h.api!.close();
    const journal = new MemoryJournal();
    api = new ApiComponent({ ...h.ctx, journal }, { ...h.ctx.config.api, port: Number(port) });
    await api.start();
    await retryNow(page);
    // Reconnected to the new daemon (the tab's "events: open" may still be the old stream's, not yet seen
    // closed): its reset streams from the new journal's end, so what is appended before would not be listed.
    await waitFor(() => api!.server!.hub.clients === 1, 'the tab to reconnect to the restarted daemon', 20_000);
    await page.locator('#stream', { hasText: 'events: open' }).waitFor({ timeout: 20_000 });
    await journal.append('agent_event', event('after the restart'));
    await page.locator('#events li', { hasText: 'after the restart' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('#events li').allTextContents()).toEqual([
      expect.stringContaining('after the restart'),
      expect.stringContaining('three'),
      expect.stringContaining('two'),
      expect.stringContaining('one'),
    ]);
  }, 120_000);
});

// The page left open on a robot whose daemon hangs, comes back, then stops: the header says what the link
// is, not what it was. A hung daemon (or a network gone without a FIN) closes nothing: only the missing
// heartbeats (`: ping` every api.events.heartbeat_s) tell.
describe("the status page's link to the daemon", () => {
  it('shows the stream stale and the daemon unreachable while it is hung, open again when it resumes, and reconnecting once it stops', async () => {
    const dir = tempDir('page-link-');
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      stringify({ data_dir: './data', api: { port: 0, events: { heartbeat_s: 0.5 } }, foxglove: { enabled: false } }),
    );
    const daemon = new DaemonProcess(dir.path, config);
    child = { daemon, dir };
    // The browser starts while the daemon does.
    const context = chromium.context();
    await daemon.running();
    let url = '';
    await waitFor(() => Boolean((url = readApiFile(join(dir.path, 'data'))?.url ?? '')), 'run/api.json');

    browser = await context;
    const page = await browser.newPage();
    await page.clock.install();
    await page.goto(`${url}/`);
    const link = page.locator('#stream');
    await page.locator('#stream[data-state="open"]').waitFor({ timeout: 20_000 });
    await page.locator('#health', { hasText: 'health ok' }).waitFor({ timeout: 20_000 });

    // Hung: the connection stays up and says nothing, not even a heartbeat.
    daemon.child.kill('SIGSTOP');
    await page.locator('#stream[data-state="stale"]').waitFor({ timeout: 30_000 });
    expect(await link.textContent()).toBe('events: stale');
    expect(await link.getAttribute('title')).toMatch(/^nothing since .*; the daemon is hung or the network is down$/);
    await page.locator('#health', { hasText: 'health unreachable' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#error').textContent()).toContain('the daemon is unreachable');

    daemon.child.kill('SIGCONT');
    await page.locator('#stream[data-state="open"]').waitFor({ timeout: 30_000 });
    await page.locator('#health', { hasText: 'health ok' }).waitFor({ timeout: 30_000 });

    // Stopped: the daemon ends the stream, then refuses connections.
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    await retryNow(page);
    await page.locator('#stream[data-state="reconnecting"]').waitFor({ timeout: 30_000 });
    expect(await link.getAttribute('title')).toMatch(/^nothing since /);
    await page.locator('#health', { hasText: 'health unreachable' }).waitFor({ timeout: 30_000 });
  }, 180_000);
});
