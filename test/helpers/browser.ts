/**
 * Debian's Chromium, driven by playwright-core (no browser download): headless, with every
 * background service that would dial out turned off. playwright-core gives every launch a fresh,
 * empty --user-data-dir of its own (and refuses one in `args`). Tests and
 * the dashboard benchmark use it; pages they open are on loopback only.
 */
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.GRAFT_TEST_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
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
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}
