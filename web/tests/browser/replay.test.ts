// A recorded real Claude Code session (2.1.328: five parallel subagents, a failure, a
// force-push that asks for permission; fixtures/five-subagents, re-recorded by
// crates/backend/tests/record_session.rs) is replayed through the real `chainwatch
// hook`: each recorded stdin payload is piped into the binary, in order, with the
// transcripts grown to the lines they had at that moment and the files written as the
// calls wrote them. Pages stay open (never reloaded) on the list, the session's
// timeline and its Files; at several points each must show what a fresh load shows
// (list row, header, timeline, Files) and what the server says. Midway the permission
// request's toast is answered with Deny: the waiting hook gets the denial, and the
// denied call's row is settled as denied.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session, SessionDetail } from "../../src/generated";
import { Browser, ChainwatchServer, ok, REPO_DIR, serverBinary, tempDir, WEB_DIR } from "./harness";

const FIXTURE = join(WEB_DIR, "tests/browser/fixtures/five-subagents");
const SHOTS = join(REPO_DIR, "docs/screenshots");

/** Refreshes a README screenshot (CHAINWATCH_SCREENSHOTS=0 skips it). */
async function shot(page: Page, name: string): Promise<void> {
  if (process.env["CHAINWATCH_SCREENSHOTS"] === "0") return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name) });
}

interface Recorded {
  readonly payload: Record<string, unknown>;
  readonly transcriptLines: Record<string, number>;
}

/** The recorded session, replayed into a fresh folder through `chainwatch hook`. */
class Replay {
  readonly root = tempDir("chainwatch-replay-");
  readonly runs: Recorded[];
  readonly sessionId: string;
  #next = 0;
  #transcripts = new Map<string, string[]>();
  /** Hook runs still going (a PermissionRequest waits for the page), by index. */
  readonly waiting = new Map<number, Promise<{ code: number | null; stdout: string }>>();

  constructor(readonly server: ChainwatchServer) {
    this.runs = readFileSync(join(FIXTURE, "payloads.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(this.fill(l)) as Recorded);
    this.sessionId = String(this.runs[0]?.payload["session_id"]);
    mkdirSync(join(this.root, "project/src"), { recursive: true });
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith(".jsonl")) this.#transcripts.set(relative(join(FIXTURE, "transcripts"), path), this.fill(readFileSync(path, "utf8")).split("\n"));
        else if (name.endsWith(".json")) {
          const target = join(this.root, "transcripts", relative(join(FIXTURE, "transcripts"), path));
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, this.fill(readFileSync(path, "utf8")));
        }
      }
    };
    walk(join(FIXTURE, "transcripts"));
  }

  /** The recording's placeholders, filled for this replay's folder. */
  fill(text: string): string {
    const transcripts = join(this.root, "transcripts");
    return text.split("$TRANSCRIPTS").join(transcripts).split("$ROOT").join(this.root);
  }

  get done(): boolean {
    return this.#next >= this.runs.length;
  }

  /** The index of the `n`th (1-based) run whose event (and tool) matches. */
  indexOf(event: string, n = 1, tool?: string): number {
    let seen = 0;
    for (let i = 0; i < this.runs.length; i++) {
      const p = (this.runs[i] as Recorded).payload;
      if (p["hook_event_name"] === event && (tool === undefined || p["tool_name"] === tool) && ++seen === n) return i;
    }
    throw new Error(`no ${n}th ${event} ${tool ?? ""} in the recording`);
  }

  /** Replays the runs up to (not including) `end`. */
  async until(end: number): Promise<void> {
    while (this.#next < Math.min(end, this.runs.length)) await this.run(this.#next++);
  }

  async run(i: number): Promise<void> {
    const { payload, transcriptLines } = this.runs[i] as Recorded;
    // The transcripts as they were when Claude Code ran this hook.
    for (const [rel, lines] of Object.entries(transcriptLines)) {
      const all = this.#transcripts.get(rel);
      if (all === undefined) continue;
      const target = join(this.root, "transcripts", rel);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, lines === 0 ? "" : `${all.slice(0, lines).join("\n")}\n`);
    }
    this.touchFiles(payload);
    const run = this.hook(payload);
    if (payload["hook_event_name"] === "PermissionRequest") {
      // It waits for an answer from the page, as it did beside Claude Code's dialog.
      this.waiting.set(i, run);
      return;
    }
    const { code } = await run;
    expect(code, `hook run ${i} (${String(payload["hook_event_name"])})`).toBe(0);
  }

  /** What Claude Code's Write and Edit did to the folder before their PostToolUse. */
  touchFiles(payload: Record<string, unknown>): void {
    if (payload["hook_event_name"] !== "PostToolUse") return;
    const input = payload["tool_input"] as Record<string, unknown> | undefined;
    const path = typeof input?.["file_path"] === "string" ? input["file_path"] : undefined;
    if (path === undefined) return;
    if (payload["tool_name"] === "Write" && typeof input?.["content"] === "string") writeFileSync(path, input["content"]);
    if (payload["tool_name"] === "Edit" && typeof input?.["old_string"] === "string" && typeof input["new_string"] === "string") {
      writeFileSync(path, readFileSync(path, "utf8").replace(input["old_string"], () => input["new_string"] as string));
    }
  }

  hook(payload: Record<string, unknown>): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(serverBinary(), ["hook"], {
        cwd: join(this.root, "project"),
        stdio: ["pipe", "pipe", "pipe"],
        env: {
          PATH: process.env["PATH"] ?? "/usr/bin:/bin",
          HOME: join(this.root, "home"),
          CHAINWATCH_URL: this.server.url,
          CHAINWATCH_SPOOL_DIR: join(this.root, "hook/spool"),
          CHAINWATCH_HOOK_TIMEOUT_MS: "5000",
          CHAINWATCH_PERMISSION_WAIT_MS: "120000",
          CHAINWATCH_QUESTION_WAIT_MS: "0",
          CHAINWATCH_STOP_WAIT_MS: "0",
          // As in print mode, where it was recorded: the Stop hook only reports.
          CLAUDE_CODE_SESSION_ATTENDED: "0",
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.on("error", reject);
      child.on("close", (code) => {
        if (stderr.trim() !== "") process.stderr.write(`chainwatch hook: ${stderr}`);
        resolve({ code, stdout });
      });
      child.stdin.end(JSON.stringify(payload));
    });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

let server: ChainwatchServer;
let browser: Browser;
let replay: Replay;
let list: Page;
let timeline: Page;
let files: Page;

const hashOf = (tab?: string) => `#/sessions/${encodeURIComponent(replay.sessionId)}${tab !== undefined ? `?tab=${tab}` : ""}`;

/** The list row: name, steps, tool calls and failures. */
async function rowFacts(page: Page): Promise<string> {
  const r = page.locator(`table[aria-label="Live sessions"] tr[data-session-id="${replay.sessionId}"], table[aria-label="Ended sessions"] tr[data-session-id="${replay.sessionId}"]`).first();
  await r.waitFor();
  const name = (await r.locator(".session-row__name").textContent()) ?? "";
  const steps = (await r.locator(".steps").textContent().catch(() => "")) ?? "";
  const tools = (await r.locator('[title="tool calls · failures"]').textContent()) ?? "";
  return `${name} | ${steps} | ${tools}`;
}

/** The header: title, status and every count. */
async function headerFacts(page: Page): Promise<string> {
  const header = page.locator('[data-testid="detail-header"]');
  await header.waitFor();
  const title = await header.locator(".detail-header__title").innerText();
  const status = await header.getByTestId("session-status").innerText();
  const counts = await header.locator("[data-count]").evaluateAll((els) =>
    els.map((el) => `${el.getAttribute("data-count")}=${el.querySelector(".count-box__value")?.textContent ?? ""}`).join(" "),
  );
  return `${title} | ${status} | ${counts}`;
}

/** The newest timeline rows (the view follows the tail): seq, outcome, agent, text. */
async function timelineFacts(page: Page): Promise<string> {
  await page.locator(".tl-row").first().waitFor();
  const loaded = await page.getByTestId("timeline-count").innerText();
  const rows = await page.locator(".tl-row").evaluateAll((els) =>
    els
      .map((el) => ({
        seq: Number(el.getAttribute("data-seq")),
        text: `${el.getAttribute("data-outcome") ?? "-"} [${(el.querySelector(".tl-row__agent-full")?.textContent ?? "").trim()}] ${(el.querySelector(".tl-row__label")?.textContent ?? "").trim()}: ${(el.querySelector(".tl-row__text")?.textContent ?? "").trim()}`,
      }))
      .sort((a, b) => a.seq - b.seq)
      .slice(-10)
      .map((r) => `#${r.seq} ${r.text}`)
      .join("\n"),
  );
  return `${loaded}\n${rows}`;
}

/** The Files tab: its summary and every touched file with what happened to it. */
async function filesFacts(page: Page): Promise<string> {
  await page.getByTestId("files-summary").waitFor();
  const summary = await page.getByTestId("files-summary").innerText();
  const items = await page.locator(".files__group").evaluateAll((groups) =>
    groups
      .map((g) => {
        const head = (g.querySelector("h4")?.textContent ?? "").trim();
        const files = Array.from(g.querySelectorAll(".file-item"))
          .map((f) => (f as HTMLElement).innerText.replace(/\s+/g, " ").trim())
          .sort();
        return `${head}: ${files.join("; ")}`;
      })
      .sort()
      .join("\n"),
  );
  return `${summary}\n${items}`;
}

/** The server's figures, as the header shows them. */
async function serverCounts(): Promise<Session["counts"]> {
  const detail = await ok<SessionDetail>(server, "GET", `/api/sessions/${encodeURIComponent(replay.sessionId)}`);
  return detail.counts;
}

/** Every live page equals a fresh load of the same view, and the server. */
async function compareWithFreshLoads(): Promise<void> {
  const counts = await serverCounts();
  // The live pages catch up (progress frames come every 500 ms).
  await expect
    .poll(() => headerFacts(timeline), { timeout: 10_000 })
    .toContain(`toolCalls=${counts.toolCalls} failures=${counts.failures} subagents=`);
  await expect.poll(() => headerFacts(timeline), { timeout: 10_000 }).toContain(`fileChanges=${counts.fileChanges} steps=${counts.steps} events=${counts.events}`);
  const session = await ok<Session>(server, "GET", `/api/sessions/${encodeURIComponent(replay.sessionId)}`);
  if (session.endedAt === undefined) {
    // The live list (an ended session leaves it for History).
    await expect.poll(() => rowFacts(list), { timeout: 10_000 }).toContain(`| ${counts.toolCalls}${counts.failures > 0 ? ` · ${counts.failures} failed` : ""}`);
    const freshList = await browser.open(server, "#/");
    expect(await rowFacts(list)).toBe(await rowFacts(freshList));
    await freshList.close();
  }

  const fresh = await browser.open(server, hashOf());
  await expect.poll(() => headerFacts(fresh), { timeout: 10_000 }).toBe(await headerFacts(timeline));
  await expect.poll(() => timelineFacts(fresh), { timeout: 10_000 }).toBe(await timelineFacts(timeline));
  await fresh.close();

  const freshFiles = await browser.open(server, hashOf("files"));
  await expect.poll(() => filesFacts(freshFiles), { timeout: 10_000 }).toBe(await filesFacts(files));
  await freshFiles.close();
  if (process.env["CHAINWATCH_REPLAY_LOG"] === "1") {
    console.log(`${await headerFacts(timeline)}\n${await timelineFacts(timeline)}\n${await filesFacts(files)}`);
  }
  // The side panel says the same (once there is something to say: the cwd is not watched).
  if (counts.fileChanges > 0) {
    await expect.poll(() => timeline.getByTestId("files-changed").innerText(), { timeout: 10_000 }).toBe(
      `${counts.fileChanges} ${counts.fileChanges === 1 ? "file" : "files"} changed`,
    );
  }
  // The Files tab's "changed" is the server's fileChanges.
  expect(await files.getByTestId("files-summary").innerText()).toContain(`${counts.fileChanges} changed`);
}

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1400, height: 900 }, timeout: 15_000 });
  replay = new Replay(server);
  list = await browser.open(server, "#/");
  // The session's pages are opened once it exists, and never reloaded.
  await replay.until(2);
  timeline = await browser.open(server, hashOf());
  files = await browser.open(server, hashOf("files"));
}, 60_000);

afterAll(async () => {
  for (const run of replay?.waiting.values() ?? []) await run.catch(() => undefined);
  await browser?.close();
  await server?.dispose();
  replay?.dispose();
});

describe("a real Claude Code session with five parallel subagents, replayed through chainwatch hook", () => {
  it("live pages equal fresh loads once the five subagents started", async () => {
    await replay.until(replay.indexOf("SubagentStart", 5) + 1);
    await compareWithFreshLoads();
    const header = await headerFacts(timeline);
    expect(header).toContain("subagents=5");
    expect(header.startsWith("/orchestrator build the TODO app with five parallel helpers")).toBe(true);
  }, 60_000);

  it("live pages equal fresh loads while the subagents write, edit and fail", async () => {
    await replay.until(replay.indexOf("SubagentStop", 1));
    await compareWithFreshLoads();
    expect(await filesFacts(files)).toMatch(/5 changed/);
  }, 60_000);

  it("a Deny in the permission's toast reaches the waiting hook and settles the call", async () => {
    const at = replay.indexOf("PermissionRequest", 1);
    await replay.until(at + 1);
    const run = replay.waiting.get(at);
    expect(run).toBeDefined();
    const toast = list.locator(`.toast[data-toast-key^="permission:${replay.sessionId}:"]`);
    await toast.waitFor();
    expect(await toast.innerText()).toContain("git push --force origin main");
    await shot(list, "toast-permission.png");
    await toast.getByRole("button", { name: "Deny" }).click();
    // The hook answered Claude Code with the denial.
    const { code, stdout } = await (run as Promise<{ code: number | null; stdout: string }>);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { hookSpecificOutput: { decision: { behavior: string } } };
    expect(answer.hookSpecificOutput.decision.behavior).toBe("deny");
    // Withdrawn everywhere once settled.
    await toast.waitFor({ state: "detached" });
    // The call's row (it never runs, so no hook event settles it) is settled by the denial.
    const row = timeline.locator('.tl-row[data-type="tool:used"]', { hasText: "git push --force origin main" });
    await expect.poll(() => row.getAttribute("data-outcome")).toBe("failed");
    expect(await row.innerText()).toContain("Denied by local");
    await row.scrollIntoViewIfNeeded();
    await shot(timeline, "five-subagents-timeline.png");
    await compareWithFreshLoads();
  }, 60_000);

  it("live pages equal fresh loads at the end, and say what changed in which file", async () => {
    await replay.until(replay.runs.length);
    await compareWithFreshLoads();
    expect(await headerFacts(timeline)).toContain("| completed |");
    // Each file under the agent that wrote it; the failure under the helper that failed.
    const facts = await filesFacts(files);
    for (const [what, file] of [["the todo store", "store"], ["the REST API", "api"], ["the list view", "list"], ["the editor view", "editor"], ["the tests", "tests"]]) {
      expect(facts).toContain(`Build ${what} · general-purpose: src/${file}.ts created`);
    }
    expect(facts).toContain("Main agent: README.md created");
    // The agent filter (subagents as A1…A5 in order of start) shows one helper's rows.
    const fresh = await browser.open(server, hashOf());
    await fresh.locator(".timeline__agent").selectOption({ label: "A5 · Build the tests · general-purpose" });
    await expect.poll(() => fresh.locator('.tl-row[data-outcome="failed"]', { hasText: "ls coverage" }).count()).toBe(1);
    await fresh.close();
    // Five subagent files and the README: one combined diff each.
    expect(await files.getByTestId("files-summary").innerText()).toContain("6 changed");
    await files.locator('.file-item[data-path="src/store.ts"] button').first().click();
    const combined = files.getByTestId("combined-diff");
    await combined.waitFor();
    expect(await combined.getAttribute("data-added")).toBe("5");
    expect(await combined.innerText()).toContain('part: "store",');
    // One diff for the file, each call's one click away.
    expect(await files.locator(".file-changes__item").count()).toBe(2);
    expect(await files.getByTestId("file-changes-calls").getAttribute("open")).toBeNull();
    await shot(files, "five-subagents-files.png");
    const graph = await browser.open(server, hashOf("graph"));
    await graph.locator(".graph-node").first().waitFor();
    await graph.waitForTimeout(300);
    await shot(graph, "five-subagents-graph.png");
    await graph.close();
    // On a phone: which agent did what, as a mark on every row.
    const phone = await Browser.launch({ viewport: { width: 390, height: 844 } });
    try {
      const p = await phone.open(server, hashOf());
      await p.locator(".tl-row").first().waitFor();
      // Tool calls only, so the rows of the five helpers show with their marks.
      await p.locator('.timeline__kinds [data-kind="tool"], button[data-kind="tool"]').first().click();
      await p.getByTestId("timeline-scroll").evaluate((el) => el.scrollIntoView({ block: "end" }));
      await p.waitForTimeout(300);
      const marks = await p.locator(".tl-row__agent-short").allInnerTexts();
      expect(marks.some((m) => /^A\d$/.test(m))).toBe(true);
      await shot(p, "phone-five-subagents.png");
    } finally {
      await phone.close();
    }
  }, 120_000);
});
