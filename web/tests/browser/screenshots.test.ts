// Screenshots for the docs (docs/screenshots/*.png), taken from the real server with a
// realistic team's sessions: the live list and the "needs you" view, light and dark.
// Set CHAINWATCH_SCREENSHOTS=0 to skip writing them.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IngestResponse } from "../../src/generated";
import { Browser, ChainwatchServer, ok, REPO_DIR, waitLive } from "./harness";

const OUT = join(REPO_DIR, "docs", "screenshots");
const write = process.env["CHAINWATCH_SCREENSHOTS"] !== "0";

let server: ChainwatchServer;
let browser: Browser;

/** An ISO time `minutes` ago. */
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

interface Seed {
  id: string;
  title: string;
  user: string;
  host: string;
  cwd: string;
  startedMinAgo: number;
  steps: string[];
  done: number;
  running?: boolean;
  tools: number;
  failedTools?: number;
  model?: string;
}

const SESSIONS: Seed[] = [
  { id: "7f3a9c1e-billing", title: "Migrate billing to Stripe API v2", user: "ada", host: "mbp-ada", cwd: "/home/ada/src/billing", startedMinAgo: 47, steps: ["Read the v1 client", "Map the endpoints", "Write the v2 client", "Port the webhooks", "Migrate the schema", "Run the contract tests"], done: 4, running: true, tools: 86, model: "claude-opus-4" },
  { id: "c21d08aa-auth", title: "Fix the flaky auth tests", user: "grace", host: "ci-runner-07", cwd: "/srv/ci/work/auth-service", startedMinAgo: 18, steps: ["Reproduce", "Bisect", "Fix the race", "Verify 50 runs"], done: 2, running: true, tools: 41, failedTools: 3 },
  { id: "9b44e2f0-search", title: "Refactor the search indexer", user: "linus", host: "build-01", cwd: "/home/linus/work/indexer", startedMinAgo: 132, steps: ["Profile", "Split the tokenizer", "Batch the writes", "Benchmark", "Update the docs"], done: 3, running: true, tools: 212 },
  { id: "41aa7b3c-react", title: "Upgrade the web app to React 19", user: "margaret", host: "dev-box", cwd: "/home/margaret/src/web", startedMinAgo: 26, steps: ["Bump the packages", "Fix the types", "Run the e2e suite"], done: 1, running: true, tools: 57 },
  { id: "e0c9d611-notes", title: "Write the 2.4 release notes", user: "ada", host: "mbp-ada", cwd: "/home/ada/src/docs", startedMinAgo: 9, steps: ["Collect the PRs", "Draft", "Review"], done: 1, tools: 12 },
  { id: "5d2f8e90-leak", title: "Investigate the memory leak in the worker", user: "grace", host: "prod-bastion", cwd: "/opt/worker", startedMinAgo: 1, steps: [], done: 0, tools: 0 },
];

async function events(list: unknown[]): Promise<void> {
  await ok<IngestResponse>(server, "POST", "/api/events", list, 201);
}

async function seed(): Promise<void> {
  for (const s of SESSIONS) {
    const at = (min: number) => ago(s.startedMinAgo - min);
    const e = (body: Record<string, unknown>, min: number) => ({ sessionId: s.id, timestamp: at(min), ...body });
    const batch: unknown[] = [
      e({ type: "session:started", cwd: s.cwd, user: s.user, hostname: s.host, title: s.title, platform: "linux", source: "hook", ...(s.model !== undefined ? { model: s.model } : {}) }, 0),
    ];
    if (s.steps.length > 0) {
      batch.push(e({ type: "chain:compiled", chainId: "plan", name: "Plan", steps: s.steps.map((name, i) => ({ stepId: `step-${i + 1}`, name, waitsFor: i === 0 ? [] : [`step-${i}`] })) }, 0.2));
      for (let i = 0; i < s.done; i++) {
        batch.push(e({ type: "step:started", chainId: "plan", stepId: `step-${i + 1}` }, 0.3 + i));
        batch.push(e({ type: "step:completed", chainId: "plan", stepId: `step-${i + 1}` }, 0.8 + i));
      }
      if (s.running === true) batch.push(e({ type: "step:started", chainId: "plan", stepId: `step-${s.done + 1}` }, s.done + 0.3));
    }
    for (let i = 0; i < s.tools; i++) {
      const failed = i < (s.failedTools ?? 0);
      batch.push(e({ type: "tool:used", toolName: i % 3 === 0 ? "Bash" : i % 3 === 1 ? "Read" : "Edit", status: failed ? "failed" : "succeeded", ...(failed ? { error: "exit 1" } : {}) }, 0.5 + (i * (s.startedMinAgo - 1)) / Math.max(1, s.tools)));
    }
    await events(batch);
  }
  // What waits on people, and for how long.
  await events([
    { sessionId: "7f3a9c1e-billing", timestamp: ago(3.2), type: "interaction:awaiting-input", requestId: "q-billing", prompt: "The migration drops 3 unused columns from invoices. Apply it to staging now?", quickResponses: ["Apply to staging", "Dry run first", "Stop here"] },
    { sessionId: "c21d08aa-auth", timestamp: ago(1.4), type: "permission:requested", requestId: "p-auth", toolName: "Bash", toolInput: { command: "npm test -- --runInBand --repeat 50 auth/session.spec.ts", description: "Run the auth suite 50 times" } },
    { sessionId: "41aa7b3c-react", timestamp: ago(0.4), type: "permission:requested", requestId: "p-react", toolName: "Edit", toolInput: { file_path: "/home/margaret/src/web/package.json", old_string: "\"react\": \"^18.3.1\"", new_string: "\"react\": \"^19.3.1\"" } },
    { sessionId: "9b44e2f0-search", timestamp: ago(0.2), type: "interaction:awaiting-input", requestId: "q-search", prompt: "Benchmarks are 18% faster with batches of 500. Keep 500 or try 1000?", quickResponses: ["Keep 500", "Try 1000"] },
  ]);
  await ok(server, "POST", "/api/sessions/e0c9d611-notes/commands", { type: "pause", reason: "waiting for the final PR list" }, 201);
  // A few that ended, for History.
  for (const [id, status] of [["a1-done", "completed"], ["a2-failed", "failed"]] as const) {
    await ok(server, "POST", "/api/sessions", { id, cwd: `/home/ada/src/${id}`, user: "ada", hostname: "mbp-ada" }, 201);
    await ok(server, "POST", `/api/sessions/${id}/end`, { status });
  }
}

beforeAll(async () => {
  server = await ChainwatchServer.start();
  browser = await Browser.launch();
  await seed();
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("screenshots", () => {
  it("of the live list and the needs-you view, in light and dark", async () => {
    if (write) mkdirSync(OUT, { recursive: true });
    const page = await browser.open(server);
    await page.locator('table[aria-label="Live sessions"] tr[data-session-id="5d2f8e90-leak"]').waitFor();
    expect(await page.locator('table[aria-label="Live sessions"] tbody tr').count()).toBe(SESSIONS.length);
    expect(await page.locator(".needs-you--aside li.needs-item").count()).toBe(4);
    // Step progress came through: 4 of 6 for billing.
    expect(await page.locator('tr[data-session-id="7f3a9c1e-billing"] .steps__text').textContent()).toBe("4/6");
    await page.mouse.move(0, 0);
    if (write) await page.screenshot({ path: join(OUT, "sessions.png") });

    await page.getByRole("link", { name: /Needs you/ }).first().click();
    await page.locator(".view--needs-you li.needs-item").nth(3).waitFor();
    await page.mouse.move(0, 0);
    if (write) await page.screenshot({ path: join(OUT, "needs-you.png") });

    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${server.pageUrl}/#/`);
    await waitLive(page);
    await page.locator('table[aria-label="Live sessions"] tr[data-session-id="5d2f8e90-leak"]').waitFor();
    if (write) await page.screenshot({ path: join(OUT, "sessions-dark.png") });
    expect(browser.problems).toEqual([]);
  });
});
