import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { peerMissing } from '../peers/missing.ts';

const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, one for all the tests of a file, each test in a fresh context of its own (its
 * own cookies, storage, cache and connection pool, as a new profile): a browser start costs about a second,
 * a context a tenth of that. The flags keep it off the network and quiet in a container. Call `close` in
 * afterAll (or the test's cleanup).
 */
export function sharedChromium(): {
  context: (options?: { viewport?: { width: number; height: number } }) => Promise<BrowserContext>;
  close: () => Promise<void>;
} {
  let browser: Promise<Browser> | undefined;
  return {
    context: async (options = {}) => {
      if (!existsSync(CHROMIUM))
        peerMissing(`Chromium is not installed (${CHROMIUM}): run \`sudo apt-get install chromium\` (.ci/run does)`);
      browser ??= chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      return (await browser).newContext(options.viewport ? { viewport: options.viewport } : {});
    },
    close: async () => {
      const started = await browser?.catch(() => undefined); // a launch that failed failed its test already
      browser = undefined;
      await started?.close();
    },
  };
}
