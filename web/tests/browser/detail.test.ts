// Session detail against the real server: a realistic Claude Code session fed through
// POST /api/events (prompts, many tool kinds, failures, three subagents with waits-for,
// files), then a session of 100,000 events for the timeline's figures (printed, not
// asserted) and its bounded DOM. Screenshots go to docs/screenshots/.
import { mkdirSync, rmSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Browser, ChainwatchServer, mark, markOf, ok, postEvents, REPO_DIR, tempDir } from "./harness";
import { bulkEvents, realisticSession, writeCwd, type RealisticSession } from "./detail/session";

const SHOTS = join(REPO_DIR, "docs/screenshots");

interface Counts {
  events: number;
  prompts: number;
  toolCalls: number;
  failures: number;
  steps: number;
}

let server: ChainwatchServer;
let browser: Browser;
let cwd: string;
let real: RealisticSession;

async function headerCount(page: Page, name: string): Promise<number> {
  const text = await page.locator(`.detail-header [data-count="${name}"] .count-box__value`).innerText();
  return Number(text.replace(/[^\d]/g, ""));
}

async function openDetail(hash: string): Promise<Page> {
  const page = await browser.open(server, hash);
  await page.locator('[data-testid="detail-header"]').waitFor();
  return page;
}

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1400, height: 900 }, timeout: 15_000 });
  cwd = tempDir("chainwatch-detail-cwd-");
  writeCwd(cwd);
  real = realisticSession("sess-login-fix", cwd);
  await postEvents(server, real.events);
  mkdirSync(SHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
});

describe("session detail", () => {
  test("the header shows where it runs and counts that match the session", async () => {
    const page = await openDetail(`#/sessions/${real.id}`);
    await expect.poll(() => headerCount(page, "subagents")).toBe(real.expected.subagents);
    const server_ = await ok<{ counts: Counts; cwd: string }>(server, "GET", `/api/sessions/${real.id}`);
    expect(real.expected.subagents).toBe(3);
    expect(await headerCount(page, "prompts")).toBe(real.expected.prompts);
    expect(await headerCount(page, "toolCalls")).toBe(real.expected.toolCalls);
    expect(await headerCount(page, "failures")).toBe(real.expected.failures);
    // The same counts as the server's.
    expect(server_.counts.prompts).toBe(real.expected.prompts);
    expect(server_.counts.toolCalls).toBe(real.expected.toolCalls);
    expect(server_.counts.failures).toBe(real.expected.failures);
    expect(await page.getByTestId("session-cwd").innerText()).toBe(cwd);
    expect(await page.getByTestId("session-host").innerText()).toBe("devbox-7");
    expect(await page.getByTestId("session-user").innerText()).toBe("ada");
    expect(await page.getByTestId("session-model").innerText()).toBe("claude-opus-4-1");
    expect(await page.getByTestId("session-status").innerText()).toBe("active");
    // The duration ticks while the session is live.
    const d1 = await page.getByTestId("session-duration").innerText();
    await page.waitForTimeout(2100);
    expect(await page.getByTestId("session-duration").innerText()).not.toBe(d1);

    // Every event is in the timeline; failures stand out.
    // (the server adds one: the watch state of the new session)
    await expect.poll(() => page.getByTestId("timeline-count").innerText()).toContain(`${server_.counts.events} loaded`);
    expect(server_.counts.events).toBeGreaterThanOrEqual(real.events.length);
    expect(await page.locator(".tl-row--failed").count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, "detail-timeline.png") });
    await page.close();
  });

  test("the chain graph shows the three subagents with their edges; a click opens the step inspector", async () => {
    const page = await openDetail(`#/sessions/${real.id}?tab=graph`);
    const nodes = page.locator('.graph-node[data-kind="subagent"]');
    await expect.poll(() => nodes.count()).toBe(3);
    for (const [task, agent] of [
      [real.tasks.a, real.agents.a],
      [real.tasks.b, real.agents.b],
      [real.tasks.c, real.agents.c],
    ] as const) {
      expect(await page.locator(`.graph-edge[data-kind="parent"][data-from="${task}"][data-to="${agent}"]`).count()).toBe(1);
    }
    // The third task waits for the first two.
    expect(await page.locator(`.graph-edge[data-kind="waits"][data-to="${real.tasks.c}"]`).count()).toBe(2);
    // The main agent is the root: it spawned the first two calls (the third waits on them).
    expect(await page.locator('.graph-node[data-kind="main"]').count()).toBe(1);
    for (const task of [real.tasks.a, real.tasks.b]) {
      expect(await page.locator(`.graph-edge[data-kind="parent"][data-from="main"][data-to="${task}"]`).count()).toBe(1);
    }
    // Subagents are named by the task that spawned them, and their type.
    const agentA = page.locator(`.graph-node[data-step-id="${real.agents.a}"]`);
    expect(await agentA.locator(".graph-node__name").textContent()).toBe("Find flaky tests");
    expect(await agentA.locator(".graph-node__meta").textContent()).toContain("Explore");
    // Fit shows the whole graph in the view; zoom makes it larger.
    const svgWidth = () => page.locator(".graph__svg").evaluate((el) => el.getBoundingClientRect().width);
    const viewWidth = await page.locator(".graph__scroll").evaluate((el) => el.clientWidth);
    expect(await svgWidth()).toBeLessThanOrEqual(viewWidth);
    const fitted = await svgWidth();
    await page.getByRole("button", { name: "Zoom in" }).click();
    await expect.poll(svgWidth).toBeGreaterThan(fitted);
    await page.getByRole("button", { name: "Fit" }).click();
    await expect.poll(svgWidth).toBe(fitted);
    // Live colours: two subagents are done, the third runs.
    expect(await page.locator(`.graph-node[data-step-id="${real.agents.a}"]`).getAttribute("data-status")).toBe("completed");
    expect(await page.locator(`.graph-node[data-step-id="${real.agents.c}"]`).getAttribute("data-status")).toBe("running");

    await page.locator(`.graph-node[data-step-id="${real.agents.c}"]`).click();
    const inspector = page.getByTestId("step-inspector");
    await inspector.waitFor();
    expect(await inspector.getAttribute("data-step-id")).toBe(real.agents.c);
    expect(page.url()).toContain(`step=${encodeURIComponent(real.agents.c)}`);
    // Its tool calls (events with its stepId) and the files it touched.
    await expect.poll(() => inspector.locator(".step-calls > li").count()).toBe(5);
    const files = inspector.getByTestId("step-files");
    await expect.poll(() => files.locator(`.file-item[data-path="${real.stepFile.path}"]`).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "detail-graph.png") });

    // The step finishing elsewhere recolours its node without a reload.
    const token = await mark(page);
    await postEvents(server, [{ sessionId: real.id, type: "step:completed", chainId: "main", stepId: real.agents.c, result: "Retries added; tests pass." }]);
    await expect
      .poll(() => page.locator(`.graph-node[data-step-id="${real.agents.c}"]`).getAttribute("data-status"))
      .toBe("completed");
    expect(await markOf(page)).toBe(token);
    await page.close();
  });

  test("a link names the step: it opens the graph with the inspector", async () => {
    const page = await openDetail(`#/sessions/${real.id}?step=${encodeURIComponent(real.agents.a)}`);
    const inspector = page.getByTestId("step-inspector");
    await inspector.waitFor();
    expect(await inspector.getAttribute("data-step-id")).toBe(real.agents.a);
    expect(await page.locator('.detail-tab[aria-selected="true"]').getAttribute("data-tab")).toBe("graph");
    await page.close();
  });

  test("an Edit shows its diff; a click opens the event's JSON, and the URL names it", async () => {
    const page = await openDetail(`#/sessions/${real.id}`);
    const events = await ok<{ events: { seq: number; type: string; toolUseId?: string; status?: string }[] }>(
      server,
      "GET",
      `/api/sessions/${real.id}/events?limit=1000`,
    );
    // One row per tool call: the call's started row, with its outcome in place.
    const edit = events.events.find((e) => e.type === "tool:used" && e.toolUseId === real.edit.toolUseId && e.status === "started");
    expect(edit).toBeDefined();
    const seq = (edit as { seq: number }).seq;
    const row = page.locator(`.tl-row[data-seq="${seq}"]`);
    await row.waitFor();
    await row.click();
    const inspector = page.getByTestId("event-inspector");
    await inspector.waitFor();
    expect(page.url()).toContain(`event=${seq}`);
    const diff = inspector.locator(".diff");
    await diff.waitFor();
    expect(await diff.locator(".diff__line--add").first().innerText()).toContain(real.edit.added);
    expect(await diff.locator(".diff__line--del").first().innerText()).toContain(real.edit.removed);
    expect(await inspector.locator(".json").innerText()).toContain(`"toolUseId": "${real.edit.toolUseId}"`);
    await inspector.screenshot({ path: join(SHOTS, "detail-diff.png") });

    // The same URL in a new tab opens the same event.
    const url = page.url();
    const again = await browser.context.newPage();
    await again.goto(url);
    await again.getByTestId("event-inspector").locator(".diff").waitFor();
    await again.close();

    // Filtering by text keeps the matching rows only.
    await page.getByLabel("Filter events by text").fill("retry.test");
    // (in the row or the event's JSON): the Write call (one row for its start and
    // outcome), file:created, and the Bash call whose output names it (its output is
    // folded into the call's row).
    await expect.poll(() => page.locator(".tl-row").count()).toBe(3);
    expect(await page.locator('.tl-row[data-type="tool:used"][data-outcome="succeeded"]').count()).toBe(2);
    expect(await page.locator('.tl-row[data-type="file:created"]').innerText()).toContain("test/retry.test.ts");
    await page.getByLabel("Filter events by text").fill("");

    // A failed Bash call stands out with its exit state and output.
    await page.locator('.chip[data-kind="error"]').click();
    const failedBash = page.locator('.tl-row--failed[data-type="tool:used"]', { hasText: "npm test -- login" });
    await failedBash.first().click();
    const bash = page.getByTestId("event-inspector").locator('.tool-call--failed[data-tool="Bash"]');
    await bash.waitFor();
    expect(await bash.locator(".exit--failed").count()).toBe(1);
    expect(await bash.locator(".tool-call__error").innerText()).toContain("Exit code 1");
    await page.close();
  });

  test("files touched are listed under the step that touched them; the cwd's tree and a file's content show", async () => {
    const page = await openDetail(`#/sessions/${real.id}?tab=files`);
    const group = page.locator(`[data-testid="touched-files"] .files__group[data-step-id="${real.stepFile.stepId}"]`);
    await group.waitFor();
    await expect.poll(() => group.locator(`.file-item[data-path="${real.stepFile.path}"]`).count()).toBe(1);
    // Files read by the main agent are under it (from its tool calls, once the events are read).
    await expect.poll(() => page.locator('.files__group[data-step-id=""] .file-item[data-path="src/login.ts"]').count()).toBe(1);
    await group.locator(`.file-item[data-path="${real.stepFile.path}"] button`).click();
    const content = page.getByTestId("file-content");
    await expect.poll(() => content.locator(".file-content__text").innerText()).toContain("export async function login");
    expect(page.url()).toContain("file=src%2Flogin.ts");
    // The tree lists the cwd.
    await expect.poll(() => page.locator(".files__tree .tree__button", { hasText: "package.json" }).count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "detail-files.png") });
    await page.close();
  });

  test("a session whose cwd is not on this host says so in Files", async () => {
    const id = "sess-elsewhere";
    await postEvents(server, [{ sessionId: id, type: "session:started", cwd: "/home/someone/elsewhere-repo-does-not-exist", hostname: "laptop-9" }]);
    const page = await openDetail(`#/sessions/${id}?tab=files`);
    await page.getByTestId("files-note").waitFor();
    expect(await page.getByTestId("files-note").innerText()).toContain("not on this host");
    await page.close();
  });

  test("the terminal shows Bash output in order with ANSI colours, and searches it", async () => {
    const page = await openDetail(`#/sessions/${real.id}?tab=terminal`);
    const entries = page.locator(".term-entry");
    await expect.poll(() => entries.count()).toBe(2);
    expect(await entries.nth(0).innerText()).toContain("npm test -- login");
    expect(await entries.nth(1).innerText()).toContain("2 passed");
    expect(await page.locator(".term-entry .ansi-red-fg").count()).toBeGreaterThan(0);
    expect(await page.locator(".term-entry .ansi-green-fg").count()).toBeGreaterThan(0);
    // No escape character reaches the page.
    expect(await page.locator(".terminal").innerText()).not.toContain("\u001b");
    await page.screenshot({ path: join(SHOTS, "detail-terminal.png") });
    await page.getByLabel("Search terminal output").fill("ECONNRESET");
    await expect.poll(() => entries.count()).toBe(1);
    expect(await page.locator(".term-entry mark").count()).toBeGreaterThan(0);
    await page.close();
  });

  test("a new event posted while the page is open appears without a reload", async () => {
    const page = await openDetail(`#/sessions/${real.id}`);
    await expect.poll(() => page.getByTestId("timeline-count").innerText()).toContain("loaded");
    await page.locator(".tl-row").first().waitFor();
    const token = await mark(page);
    const prompts = await headerCount(page, "prompts");
    const text = `live prompt ${Date.now()}`;
    await postEvents(server, [{ sessionId: real.id, type: "prompt:submitted", prompt: text }]);
    await page.locator(".tl-row", { hasText: text }).waitFor();
    await expect.poll(() => headerCount(page, "prompts")).toBe(prompts + 1);
    expect(await markOf(page)).toBe(token);
    await page.close();
  });

  test("nothing broke the page: no page errors, no CSP violations", () => {
    expect(browser.problems).toEqual([]);
  });
});

describe("a flood of live events", () => {
  test("30,000 events posted while the page is open all reach the timeline, once each, and it follows the tail", async () => {
    const id = "sess-flood";
    await postEvents(server, [{ sessionId: id, type: "session:started", cwd }]);
    const page = await openDetail(`#/sessions/${id}`);
    await page.locator(".tl-row").first().waitFor();
    const token = await mark(page);
    const t0 = performance.now();
    const start = Date.now();
    for (let i = 0; i < 3; i++) await postEvents(server, bulkEvents(id, 1 + i * 10_000, 10_000, start));
    const { counts } = await ok<{ counts: Counts }>(server, "GET", `/api/sessions/${id}`);
    await expect
      .poll(() => page.getByTestId("timeline-count").innerText(), { timeout: 30_000 })
      .toBe(`${counts.events.toLocaleString("en-US")} loaded events`);
    console.log(`[detail flood] ${counts.events} events posted live reached the page in ${Math.round(performance.now() - t0)} ms`);
    // Following: the newest rows are on screen, in seq order.
    const { latestSeq } = await ok<{ latestSeq: number }>(server, "GET", `/api/sessions/${id}/events?limit=1`);
    const seqs = await page.locator(".tl-row").evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset["seq"])));
    expect(Math.max(...seqs)).toBe(latestSeq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(await markOf(page)).toBe(token);
    expect(await page.locator(".tl-row").count()).toBeLessThanOrEqual(120);
    await page.close();
  }, 120_000);
});

describe("a session of 100,000 events", () => {
  const N = 100_000;
  const BATCH = 10_000;
  const id = "sess-100k";

  test(
    "opens on its newest page, scrolls through older pages, and keeps a bounded number of rows",
    async () => {
      const start = Date.now() - N * 10 - 60_000;
      const ingestStart = performance.now();
      await postEvents(server, [{ sessionId: id, type: "session:started", cwd, hostname: "bench", user: "ci", timestamp: new Date(start).toISOString() }]);
      for (let from = 1; from < N; from += BATCH) {
        await postEvents(server, bulkEvents(id, from, Math.min(BATCH, N - from), start));
      }
      const ingestMs = performance.now() - ingestStart;
      const detail = await ok<{ counts: Counts }>(server, "GET", `/api/sessions/${id}`);
      // The server adds its own (the watch state of the new session).
      expect(detail.counts.events).toBeGreaterThanOrEqual(N);

      const page = await browser.context.newPage();
      page.on("pageerror", (err) => browser.problems.push(`page error: ${err.message}`));
      const t0 = performance.now();
      await page.goto(`${server.pageUrl}/#/sessions/${id}`);
      await page.locator(".tl-row").first().waitFor({ timeout: 30_000 });
      const visibleMs = performance.now() - t0;
      const firstRowsMark = await page.evaluate(async () => {
        for (let i = 0; i < 50; i++) {
          const m = performance.getEntriesByName("chainwatch:timeline-first-rows")[0];
          if (m !== undefined) return m.startTime;
          await new Promise((r) => setTimeout(r, 20));
        }
        return -1;
      });
      const rowsAtOpen = await page.locator(".tl-row").count();
      const loadedAtOpen = await page.getByTestId("timeline-count").innerText();

      // Scroll the timeline up for a while (older pages come in from the server on
      // the way), then jump around, counting frames.
      const scroll = await page.evaluate(async () => {
        const el = document.querySelector<HTMLElement>('[data-testid="timeline-scroll"]');
        if (el === null) throw new Error("no timeline");
        let maxRows = 0;
        const frames: number[] = [];
        const run = (ms: number, step: (i: number) => void) =>
          new Promise<void>((resolve) => {
            const begin = performance.now();
            let last = begin;
            let i = 0;
            const tick = (now: number) => {
              frames.push(now - last);
              last = now;
              maxRows = Math.max(maxRows, el.querySelectorAll(".tl-row").length);
              if (now - begin >= ms) return resolve();
              step(i++);
              requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
          });
        frames.length = 0;
        const t1 = performance.now();
        await run(5000, () => {
          el.scrollTop = Math.max(0, el.scrollTop - 240);
        });
        const upMs = performance.now() - t1;
        const upFrames = frames.length;
        const upGaps = [...frames];
        frames.length = 0;
        const t2 = performance.now();
        await run(3000, (i) => {
          el.scrollTop = ((i * 7919) % 97) / 97 * (el.scrollHeight - el.clientHeight);
        });
        const jumpMs = performance.now() - t2;
        const jumpFrames = frames.length;
        const all = [...upGaps, ...frames].sort((a, b) => a - b);
        return {
          upFps: (upFrames / upMs) * 1000,
          jumpFps: (jumpFrames / jumpMs) * 1000,
          p95FrameMs: all[Math.floor(all.length * 0.95)] ?? 0,
          longFrames: all.filter((f) => f > 50).length,
          frames: all.length,
          maxRows,
        };
      });
      const rowsAfter = await page.locator(".tl-row").count();
      const loadedAfter = await page.getByTestId("timeline-count").innerText();
      const nodes = await page.evaluate(() => document.getElementsByTagName("*").length);

      const figures = {
        machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
        chromium: browser.context.browser()?.version() ?? "?",
        ingestMs: Math.round(ingestMs),
        firstRowsMarkMs: Math.round(firstRowsMark),
        visibleAfterGotoMs: Math.round(visibleMs),
        rowsAtOpen,
        loadedAtOpen,
        scrollUpFps: Number(scroll.upFps.toFixed(1)),
        jumpFps: Number(scroll.jumpFps.toFixed(1)),
        p95FrameMs: Number(scroll.p95FrameMs.toFixed(1)),
        longFrames: scroll.longFrames,
        frames: scroll.frames,
        maxRowsWhileScrolling: scroll.maxRows,
        rowsAfter,
        loadedAfter,
        domElements: nodes,
      };
      console.log(`[detail 100k] ${JSON.stringify(figures, null, 2)}`);

      // Bounded: a virtual list keeps a few dozen rows, whatever the session's size.
      expect(rowsAtOpen).toBeGreaterThan(0);
      expect(rowsAtOpen).toBeLessThanOrEqual(120);
      expect(scroll.maxRows).toBeLessThanOrEqual(120);
      expect(rowsAfter).toBeLessThanOrEqual(120);
      // Opened on the newest page, not the whole log; scrolling paged older ones in.
      expect(loadedAtOpen).toBe(`1,000 loaded of ${detail.counts.events.toLocaleString("en-US")} events`);
      expect(loadedAfter).not.toBe(loadedAtOpen);
      await page.screenshot({ path: join(SHOTS, "detail-timeline-100k.png") });
      await page.close();
      expect(browser.problems).toEqual([]);
    },
    300_000,
  );
});
