// The status page while `npm start`'s main job drives: the drive is listed among the runs (it is no agent run, and
// the page showed none), the empty approvals panel is one short line (it took half the first screen beside the map),
// and type names wrap after a `/`, never inside a word (`sensor_msgs/msg/LaserSc` `an`).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { main } from '../../daemon/cli/main.ts';
import { tempDir, testConfig } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { sharedChromium } from './chromium.ts';
import { http } from './http.ts';

const work = tempDir('page-main-job-');
const chromium = sharedChromium();
afterAll(async () => {
  await chromium.close();
  work.cleanup();
});

/**
 * Run in the page: for each type cell of the topics table, where a new line of its text begins, with the character
 * before it (a browser's line boxes, character by character).
 */
const LINE_BREAKS = `[...document.querySelectorAll('#topics tbody td:nth-child(2)')].flatMap((cell) => {
  const text = cell.textContent ?? '';
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  const tops = [];
  let offset = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.textContent.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      tops.push({ at: offset + i, top: Math.round(range.getBoundingClientRect().top) });
    }
    offset += node.textContent.length;
  }
  return tops.filter((t, i) => i > 0 && t.top > tops[i - 1].top).map((t) => ({ text, after: text[t.at - 1] }));
})`;

describe("the status page during the sim's main job", () => {
  it('lists the drive as a running run, keeps the empty approvals to a line, and breaks type names only after a /', async () => {
    const argv = ['sim', 'turtlebot-maze', '--goal', 'far_corner', '--speed', '1', '--duration', '600', '--json'];
    const done = main([...argv, '--config', testConfig(work.path)], {
      stdout: () => {},
      stderr: () => {},
      env: process.env,
      cwd: work.path,
    });
    const dataDir = join(work.path, '.auraison-edge');
    await waitFor(() => readApiFile(dataDir) !== undefined, "the main job's API", 60_000);
    const url = readApiFile(dataDir)!.url;
    try {
      // A width at which the type column wraps.
      const context = await chromium.context({ viewport: { width: 520, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${url}/`);
      const driver = page.locator('#runs tr[data-driver="sim drive"]');
      await expect.poll(() => driver.count(), { timeout: 30_000 }).toBe(1);
      expect(await driver.locator('td').nth(2).textContent()).toBe('running');

      await page.locator('#map-info', { hasText: 'cells' }).waitFor(); // the map section shows once there is a map
      const [approvals, map] = await Promise.all(
        ['#approvals-section', '#map-section'].map(async (s) => (await page.locator(s).boundingBox())!.height),
      );
      expect(approvals, `approvals ${approvals} px high beside a map section of ${map} px`).toBeLessThan(map! / 5);

      await expect.poll(() => page.locator('#topics tbody tr').count(), { timeout: 30_000 }).toBeGreaterThan(5);
      // Where each line of a cell's text begins: a new line may start only after a `/` (or at the cell's start).
      const breaks = (await page.evaluate(LINE_BREAKS)) as { text: string; after: string }[];
      expect(breaks.length, 'some type name wraps at this width').toBeGreaterThan(0);
      expect(breaks.filter((b) => b.after !== '/')).toEqual([]);
      await context.close();
    } finally {
      await http(url, '/stop', { body: { by: 'test' }, headers: { connection: 'close' } });
      await done;
    }
  }, 180_000);
});
