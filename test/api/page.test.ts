import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { ROOT } from '../helpers/cli.ts';
import { sharedChromium } from './chromium.ts';
import { FakeAgent } from './fakes/fake-agent.ts';
import { MemoryJournal } from '../helpers/memory-journal.ts';
import { startHarness, type Harness } from './harness.ts';
import { http } from './http.ts';

/** Where the screenshot goes (test/.tmp is git-ignored). */
const SHOTS = join(ROOT, 'test', '.tmp');

let h: Harness | undefined;
/** One browser for the file; each test gets a fresh context (a new profile) from `launch`. */
const chromium = sharedChromium();
let browser: BrowserContext | undefined;
afterEach(async () => {
  await browser?.close();
  browser = undefined;
  await h?.close();
  h = undefined;
});
afterAll(() => chromium.close());

function launch(): Promise<BrowserContext> {
  return chromium.context({ viewport: { width: 1280, height: 1100 } });
}

/** A small maze map, the robot's odometry and a plan, as the sim and the navigator publish them. */
function publishWorld(h: Harness): void {
  const codec = new MessageCodec(h.definitions);
  const size = 40;
  const data = new Int8Array(size * size);
  for (let i = 0; i < size; i++)
    data[i] = data[(size - 1) * size + i] = data[i * size] = data[i * size + size - 1] = 100;
  for (let i = 0; i < 25; i++) data[20 * size + i] = 100;
  const stamp = { sec: 0, nanosec: 0 };
  h.bus
    .advertise('/map', 'nav_msgs/msg/OccupancyGrid', {
      source: 'sim',
      qos: { durability: 'transient_local', depth: 1 },
    })
    .publish(
      codec.encode('nav_msgs/msg/OccupancyGrid', {
        header: { stamp, frame_id: 'map' },
        info: {
          map_load_time: stamp,
          resolution: 0.1,
          width: size,
          height: size,
          origin: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        },
        data,
      }),
    );
  h.bus
    .advertise('/plan', 'nav_msgs/msg/Path', { source: 'navigator', qos: { durability: 'transient_local', depth: 1 } })
    .publish(
      codec.encode('nav_msgs/msg/Path', {
        header: { stamp, frame_id: 'map' },
        poses: [
          [0.5, 0.5],
          [3.0, 0.5],
          [3.0, 3.5],
          [1.0, 3.5],
        ].map(([x, y]) => ({
          header: { stamp, frame_id: 'map' },
          pose: { position: { x, y, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        })),
      }),
    );
  const odom = h.bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'sim' });
  const zero = new Float64Array(36);
  const timer = setInterval(() => {
    odom.publish(
      codec.encode('nav_msgs/msg/Odometry', {
        header: { stamp, frame_id: 'odom' },
        child_frame_id: 'base_footprint',
        pose: {
          pose: {
            position: { x: 3.0, y: 1.5, z: 0 },
            orientation: { x: 0, y: 0, z: Math.sin(Math.PI / 4), w: Math.cos(Math.PI / 4) },
          },
          covariance: zero,
        },
        twist: { twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, covariance: zero },
      }),
    );
  }, 50);
  timer.unref();
  const close = h.close;
  h.close = async () => {
    clearInterval(timer);
    await close();
  };
}

describe('the status page in headless Chromium', () => {
  it('shows health, topics and the live map, and approving a run in the page resumes it', async () => {
    const journal = new MemoryJournal();
    const agent = new FakeAgent({ journal, workMs: 300 });
    h = await startHarness({ journal, components: [agent] });
    publishWorld(h);
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', params: { goal: 'charging_dock' }, policy_ctx: { requires_approval: true } },
    });
    const runId = (created.json.run as { run_id: string }).run_id;

    browser = await launch();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(h.url);

    await page.locator('#health', { hasText: 'health ok' }).waitFor();
    await page.locator('#ready', { hasText: 'ready' }).waitFor();
    await page.locator('#topics tbody tr', { hasText: '/odom' }).waitFor();
    await page.locator('#map-info', { hasText: '40 × 40 cells' }).waitFor();
    const approval = page.locator(`#approvals li[data-run="${runId}"]`);
    await approval.waitFor();

    await approval.getByRole('button', { name: 'Approve' }).click();
    // The run resumes (running), then finishes; the page follows it over the event stream.
    await page
      .locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'succeeded' })
      .waitFor({ timeout: 30_000 });
    expect(agent.calls.filter((c) => c.method === 'approve')).toEqual([
      { method: 'approve', args: [runId, 'status-page'] },
    ]);
    expect(await page.locator(`#approvals li[data-run="${runId}"]`).count()).toBe(0);
    await page.locator('#events li', { hasText: 'run.approved' }).waitFor();

    // The map is drawn: the canvas has the grid's walls (dark) and the robot (red) on it.
    // (a string, evaluated in the page: this project's TypeScript has no DOM types)
    const pixels = (await page.evaluate(`(() => {
      const canvas = document.getElementById('map');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let dark = 0;
      let red = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 40 && data[i + 1] < 40 && data[i + 2] < 40) dark++;
        if (data[i] > 180 && data[i + 1] < 80 && data[i + 2] < 80) red++;
      }
      return { dark, red };
    })()`)) as { dark: number; red: number };
    expect(pixels.dark).toBeGreaterThan(1000);
    expect(pixels.red).toBeGreaterThan(20);

    mkdirSync(SHOTS, { recursive: true });
    const shot = join(SHOTS, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(errors, errors.join('\n')).toEqual([]);
  });

  it('keeps every card within the page at 1280 px, the topics table included when its names are long', async () => {
    h = await startHarness({});
    const long = [
      '/auraison/agent/nav_cmd_vel',
      '/robot_1/arm/joint_trajectory_controller/controller_state',
      '/robot_1/camera/color/image_raw/compressed_depth',
    ];
    h.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test' });
    for (const topic of long)
      h.bus.advertise(topic, 'control_msgs/msg/JointTrajectoryControllerState', { source: 'test' });
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(h.url);
    await page.locator('#topics tbody tr', { hasText: long[1]! }).waitFor();
    // (a string, evaluated in the page: this project's TypeScript has no DOM types)
    const layout = (await page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      const sections = [...document.querySelectorAll('main > section')].map((s) => ({ title: s.querySelector('h2')?.textContent, right: Math.round(s.getBoundingClientRect().right), width }));
      const topics = document.getElementById('topics');
      const card = topics.closest('section');
      return { outside: sections.filter((s) => s.right > s.width), tableFits: topics.scrollWidth <= card.clientWidth, cardScrolls: getComputedStyle(card).overflowX === 'auto' && card.scrollWidth > card.clientWidth };
    })()`)) as { outside: unknown[]; tableFits: boolean; cardScrolls: boolean };
    expect(layout.outside).toEqual([]);
    // Every column can be seen without scrolling the card sideways (a scrollbar a screenshot or a glance
    // misses): long names wrap in their cells instead.
    expect(layout).toMatchObject({ tableFits: true, cardScrolls: false });
  });

  it('cancels a run from the page', async () => {
    const journal = new MemoryJournal();
    const agent = new FakeAgent({ journal });
    h = await startHarness({ journal, components: [agent] });
    const created = await http(h.url, '/intents', {
      body: { type: 'navigate_to', policy_ctx: { requires_approval: true } },
    });
    const runId = (created.json.run as { run_id: string }).run_id;
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(h.url);
    await page.locator(`#approvals li[data-run="${runId}"]`).getByRole('button', { name: 'Cancel' }).click();
    await page.locator(`#runs tr[data-run="${runId}"] td.status`, { hasText: 'cancelled' }).waitFor();
    expect(agent.calls.at(-1)).toEqual({ method: 'cancel', args: [runId, 'status-page', undefined] });
  });

  it('asks for the token when the API has one, and works once it is given in the URL fragment', async () => {
    h = await startHarness({ api: { token: 'page-secret' } });
    browser = await launch();
    const page = await browser.newPage();
    await page.goto(h.url);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    const withToken = await browser.newPage();
    await withToken.goto(`${h.url}/#token=page-secret`);
    await withToken.locator('#health', { hasText: 'health ok' }).waitFor();
    await withToken.locator('#ready', { hasText: 'ready' }).waitFor();
    expect(await withToken.locator('#token-form').isVisible()).toBe(false);
    // The token is kept for the tab, not left in the address bar.
    expect(withToken.url()).toBe(`${h.url}/`);
  });
});
