// Used by the Claude Code conformance suite (crates/backend/tests/claude_code.rs): opens
// a session's page in Debian's Chromium, waits for the button named ARGV[3], takes a
// screenshot to ARGV[4] (when given), and clicks the button, as a person would.
// Usage: node claude-code-click.mjs URL SESSION_ID BUTTON [SCREENSHOT]
import { chromium } from "playwright-core";

const [url, session, button, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${url}/#/sessions/${session}`);
  const target = page.getByRole("button", { name: button, exact: true }).first();
  try {
    await target.waitFor({ timeout: 30_000 });
  } catch (e) {
    const text = await page.locator("body").innerText().catch(() => "(no page)");
    throw new Error(`${e}\nThe page shows:\n${text.slice(0, 3000)}`);
  }
  if (shot) {
    // Let the timeline beside the card finish loading first.
    await page.getByText("Loading…").waitFor({ state: "detached", timeout: 10_000 }).catch(() => {});
    await page.screenshot({ path: shot });
  }
  await target.click();
  await target.waitFor({ state: "detached", timeout: 30_000 });
} finally {
  await browser.close();
}
