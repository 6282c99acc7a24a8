// The conversation in the browser, against the real server: the cost column and the
// detail header's cost move live, the transcript tab reads as the conversation (tool
// calls folded in, the subagent nested) and grows live, Ctrl-K search opens a session
// at the event found, and the export button downloads the Markdown. Writes the README's
// screenshots of the transcript, the cost column and search (CHAINWATCH_SCREENSHOTS=0
// skips writing them).
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, ChainwatchServer, ok, postEvents, REPO_DIR } from "./harness";

const OUT = join(REPO_DIR, "docs", "screenshots");
const write = process.env["CHAINWATCH_SCREENSHOTS"] !== "0";
const ID = "5e1f0c2a-transcript";
const OTHER = "8a0b3d4e-other";

let server: ChainwatchServer;
let browser: Browser;

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
const usage = (i: number, o: number, r: number, w: number) => ({ inputTokens: i, outputTokens: o, cacheReadTokens: r, cacheCreationTokens: w });

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1400, height: 900 } });
  const e = (body: Record<string, unknown>, secondsAgo: number) => ({ sessionId: ID, timestamp: ago(secondsAgo), ...body });
  await postEvents(server, [
    e({ type: "session:started", cwd: "/home/ada/src/parser", user: "ada", hostname: "mbp-ada", title: "Teach the parser about tabs", model: "claude-sonnet-4-5", source: "hook" }, 300),
    e({ type: "prompt:submitted", prompt: "The tokenizer chokes on tabs in the zanzibar fixtures. Find out why and fix it." }, 290),
    e({ type: "message:assistant", text: "I'll start by reproducing the failure with the zanzibar fixtures.", model: "claude-sonnet-4-5", messageId: "m1" }, 285),
    e({ type: "message:assistant", text: "", model: "claude-sonnet-4-5", messageId: "m1", usage: usage(4200, 180, 12000, 2600) }, 284),
    e({ type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "started", input: { command: "cargo test -p parser zanzibar" } }, 283),
    e({ type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "failed", input: { command: "cargo test -p parser zanzibar" }, error: "exit status 101" }, 270),
    e({ type: "chain:started", chainId: "main" }, 260),
    e({ type: "step:spawned", chainId: "main", stepId: "task-t2", name: "Survey the tokenizer", kind: "task", toolUseId: "t2" }, 260),
    e({ type: "step:spawned", chainId: "main", stepId: "agent-a1", name: "agent-a1", kind: "subagent", parentStepId: "task-t2", agentType: "Explore" }, 259),
    e({ type: "message:assistant", text: "The tokenizer treats '\\t' as an identifier character in lex_word(); spaces are fine.", model: "claude-haiku-4-5", messageId: "m2", stepId: "agent-a1", usage: usage(3000, 90, 0, 0) }, 240),
    e({ type: "message:assistant", text: "Found it: tabs fall through to lex_word(). I'll add them to the whitespace class.", model: "claude-sonnet-4-5", messageId: "m3", usage: usage(5100, 220, 16000, 0) }, 200),
    e({ type: "tool:used", toolName: "Edit", toolUseId: "t3", status: "started", input: { file_path: "/home/ada/src/parser/src/lex.rs" } }, 190),
    e({ type: "tool:used", toolName: "Edit", toolUseId: "t3", status: "succeeded", input: { file_path: "/home/ada/src/parser/src/lex.rs" } }, 189),
  ]);
  await postEvents(server, [
    { sessionId: OTHER, timestamp: ago(120), type: "session:started", cwd: "/home/grace/src/api", user: "grace", hostname: "dev-box", title: "Bump the API client" },
    { sessionId: OTHER, timestamp: ago(110), type: "message:assistant", text: "Bumped.", model: "claude-opus-4-5", usage: usage(900, 40, 0, 0) },
  ]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("the conversation", () => {
  it("shows cost in the list and the header, live", async () => {
    const page = await browser.open(server);
    const cell = page.locator(`tr[data-session-id="${ID}"] [data-testid="session-row-cost"]`);
    await cell.waitFor();
    const before = await ok<{ usage: { costUsd: number } }>(server, "GET", `/api/sessions/${ID}`);
    expect(before.usage.costUsd).toBeGreaterThan(0);
    expect(await cell.textContent()).toBe(`$${before.usage.costUsd.toFixed(2)}`);
    // Another request: the list's cell moves without a reload.
    await postEvents(server, [{ sessionId: ID, type: "message:assistant", text: "", model: "claude-sonnet-4-5", usage: usage(1_000_000, 0, 0, 0) }]);
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel as string)?.textContent === want,
      [`tr[data-session-id="${ID}"] [data-testid="session-row-cost"]`, `$${(before.usage.costUsd + 3).toFixed(2)}`] as const,
    );
    await page.mouse.move(0, 0);
    if (write) {
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, "sessions-cost.png") });
    }
    await page.close();
  });

  it("reads as the conversation in the transcript tab, with the subagent nested, live", async () => {
    const page = await browser.open(server, `#/sessions/${ID}?tab=transcript`);
    const transcript = page.getByTestId("transcript");
    await transcript.locator('[data-kind="assistant"]').first().waitFor();
    const kinds = await transcript.locator("[data-kind]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-kind")));
    expect(kinds).toEqual(["prompt", "assistant", "tool", "assistant", "assistant", "tool"]);
    // The failed Bash call is one item with its outcome.
    await expect.poll(() => transcript.locator('[data-kind="tool"]').first().textContent()).toContain("failed: exit status 101");
    // The subagent's message is nested under it and named.
    const sub = transcript.locator(".transcript__item--subagent");
    expect(await sub.textContent()).toContain("Subagent · Explore");
    expect(await sub.evaluate((el) => getComputedStyle(el).marginLeft)).not.toBe("0px");
    // The prompt carries what answering it cost.
    expect(await transcript.getByTestId("prompt-usage").textContent()).toMatch(/^\$\d+\.\d\d · [\d.]+[kM] tokens$/);
    expect(await page.getByTestId("session-cost").textContent()).toMatch(/^\$\d+\.\d\d$/);
    // Live: a new reply appears without a reload.
    await postEvents(server, [{ sessionId: ID, type: "message:assistant", text: "All 48 zanzibar tests pass now.", model: "claude-sonnet-4-5" }]);
    await transcript.getByText("All 48 zanzibar tests pass now.").waitFor();
    await page.mouse.move(0, 0);
    if (write) await page.screenshot({ path: join(OUT, "transcript.png") });

    // The export button downloads the conversation as Markdown.
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-markdown").click()]);
    expect(download.suggestedFilename()).toBe(`chainwatch-${ID}.md`);
    const path = await download.path();
    const markdown = readFileSync(path, "utf8");
    expect(markdown).toContain("# Teach the parser about tabs");
    expect(markdown).toContain("Found it: tabs fall through to lex_word()");
    expect(markdown).toContain("- Tool `Bash` `cargo test -p parser zanzibar`: failed: exit status 101");
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it("finds a word across sessions with Ctrl-K and opens the session at that event", async () => {
    const page = await browser.open(server);
    await page.keyboard.press("Control+k");
    const input = page.getByRole("dialog", { name: "Search every session" }).getByRole("searchbox");
    await input.fill("lex_word");
    const results = page.getByTestId("search-result");
    await expect.poll(() => results.count(), { timeout: 10_000 }).toBe(2);
    // Newest first: the main agent's reply, then the subagent's.
    const seqs = await results.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    expect(seqs[0]).toBeGreaterThan(seqs[1] as number);
    expect(await results.first().locator("mark").first().textContent()).toBe("lex");
    await page.mouse.move(0, 0);
    if (write) await page.screenshot({ path: join(OUT, "search.png") });
    await input.press("ArrowDown");
    await input.press("Enter");
    await page.waitForFunction((want) => window.location.hash === want, `#/sessions/${encodeURIComponent(ID)}?event=${seqs[1]}`);
    // The event inspector shows the event found.
    await page.getByText("The tokenizer treats").first().waitFor();
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  it("replays the session as it stood at an earlier event with the scrubber", async () => {
    const R = "replayed-session";
    // Started an hour ago; the permission was asked 10 min 5 s after the start.
    await postEvents(server, [
      { sessionId: R, type: "session:started", cwd: "/home/ada/src/replay", user: "ada", title: "Replay me", timestamp: ago(3600) },
      { sessionId: R, type: "chain:compiled", chainId: "plan", steps: [{ stepId: "s1", name: "Read", waitsFor: [] }, { stepId: "s2", name: "Write", waitsFor: ["s1"] }], timestamp: ago(3590) },
      { sessionId: R, type: "step:started", chainId: "plan", stepId: "s1", timestamp: ago(3580) },
      { sessionId: R, type: "permission:requested", requestId: "perm-1", toolName: "Bash", toolInput: { command: "rm -rf build" }, timestamp: ago(2995) },
    ]);
    await ok(server, "POST", `/api/sessions/${R}/permissions/perm-1`, { behavior: "allow" });
    await postEvents(server, [
      { sessionId: R, type: "step:completed", chainId: "plan", stepId: "s1" },
      { sessionId: R, type: "file:modified", path: "src/out.rs" },
    ]);
    const page = await browser.open(server, `#/sessions/${R}`);
    await page.getByTestId("replay-open").click();
    const scrubber = page.getByTestId("replay-scrubber");
    await scrubber.waitFor();
    // At the newest event: the live state.
    const replay = page.getByTestId("replay");
    await expect.poll(() => replay.getByTestId("session-status").textContent()).toBe("active");
    expect(await replay.getByTestId("replay-files").textContent()).toContain("src/out.rs");
    // Back to the permission request: it waits, the first step runs, no file yet.
    const { events } = await ok<{ events: { type: string }[] }>(server, "GET", `/api/sessions/${R}/events`);
    const asked = events.findIndex((e) => e.type === "permission:requested");
    expect(asked).toBeGreaterThan(0);
    await scrubber.fill(String(asked));
    await expect.poll(() => replay.getByTestId("session-status").textContent()).toBe("waiting");
    expect(await replay.getByTestId("replay-waiting").textContent()).toContain("Permission for Bash");
    expect(await replay.getByTestId("replay-files").textContent()).toContain("None yet.");
    expect(await replay.getByTestId("replay-position").textContent()).toMatch(new RegExp(`^event ${asked + 1} of ${events.length}`));
    expect(await replay.locator('[data-testid="replay-events"] li').first().textContent()).toContain("Bash");
    // The header's duration is the session's as of that event, and stands still.
    const duration = replay.getByTestId("session-duration");
    expect(await duration.textContent()).toBe("10m 05s");
    expect(await duration.getAttribute("data-live")).toBe("false");
    await new Promise((r) => setTimeout(r, 1200));
    expect(await duration.textContent()).toBe("10m 05s");
    // At the newest event (now), it is the hour the session has run.
    await scrubber.fill(String(events.length - 1));
    await expect.poll(() => duration.textContent()).toMatch(/^1h 00m 0\ds$/);
    await scrubber.fill(String(asked));
    await page.mouse.move(0, 0);
    if (write) await page.screenshot({ path: join(OUT, "replay.png") });
    // The live view is unchanged by replaying.
    await page.getByRole("button", { name: "Back to live" }).click();
    expect(await page.getByTestId("detail-header").getByTestId("session-status").textContent()).toBe("active");
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
