// Every number on the page equals the server's, live. A realistic Claude Code session
// (tool calls, failures, subagents, files: the events `chainwatch hook` posts) is
// replayed into the real server in parts while a page shows the session list; after
// each part the live page (never reloaded) must show what a freshly loaded page shows,
// and both what the server's REST list says. Tool calls and files are not global
// events: the list hears them through the server's coalesced `progress` frames.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Session, SessionList } from "../../src/generated";
import { realisticSession, type NewEvent } from "./detail/session";
import { Browser, ChainwatchServer, mark, markOf, ok, postEvents } from "./harness";

let server: ChainwatchServer;
let browser: Browser;
let live: Page;

const row = (page: Page, id: string) => page.locator(`table[aria-label="Live sessions"] tr[data-session-id="${id}"]`);

/** What a list row says: name, steps, tool calls and failures (not the ticking age). */
async function rowFacts(page: Page, id: string): Promise<string> {
  const r = row(page, id);
  await r.waitFor();
  const name = (await r.locator(".session-row__name").textContent()) ?? "";
  const steps = (await r.locator(".steps").textContent()) ?? "";
  const tools = (await r.locator('[title="tool calls · failures"]').textContent()) ?? "";
  return `${name} | ${steps} | ${tools}`;
}

/** The same facts as the server's REST list has them, rendered as the row does. */
async function restFacts(id: string, name: string): Promise<string> {
  const list = await ok<SessionList>(server, "GET", "/api/sessions?ended=false");
  const s = list.sessions.find((x: Session) => x.id === id);
  if (s === undefined) throw new Error(`${id} is not listed`);
  const c = s.counts;
  const steps = c.steps === 0 ? "no steps" : `${c.stepsCompleted}/${c.steps}`;
  const tools = `${c.toolCalls}${c.failures > 0 ? ` · ${c.failures} failed` : ""}`;
  return `${name} | ${steps} | ${tools}`;
}

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1400, height: 900 } });
  live = await browser.open(server);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("list counts while a session runs", () => {
  it("equal a fresh load and the server at every point of a replayed session", async () => {
    const session = realisticSession("replayed-1", "/home/ada/projects/shop");
    const token = await mark(live);
    // Parts end at arbitrary points: inside a subagent, after failures, at the end.
    const events = session.events;
    const cuts = [6, Math.floor(events.length / 3), Math.floor(events.length / 2), Math.floor((events.length * 4) / 5), events.length];
    let from = 0;
    for (const cut of cuts) {
      await postEvents(server, events.slice(from, cut) as NewEvent[]);
      from = cut;
      const expected = await restFacts(session.id, "Fix the flaky login test");
      await expect.poll(() => rowFacts(live, session.id), { timeout: 5000 }).toBe(expected);
      const fresh = await browser.open(server);
      expect(await rowFacts(fresh, session.id)).toBe(expected);
      await fresh.close();
    }
    // The totals are the session's.
    expect(await rowFacts(live, session.id)).toContain(
      `${session.expected.toolCalls} · ${session.expected.failures} failed`,
    );
    expect(await markOf(live)).toBe(token);
  });

  it("names a session without a title by its first prompt, live", async () => {
    await postEvents(server, [
      { sessionId: "untitled-1", type: "session:started", cwd: "/home/ada/projects/todo", source: "hook" },
    ]);
    await expect.poll(() => row(live, "untitled-1").locator(".session-row__name").textContent()).toBe("todo");
    await postEvents(server, [
      { sessionId: "untitled-1", type: "prompt:submitted", prompt: "/orchestrator create TODO app\nwith React and a REST API" },
      { sessionId: "untitled-1", type: "tool:used", toolName: "Bash", toolUseId: "tu-1", status: "started", input: { command: "ls" } },
    ]);
    await expect
      .poll(() => row(live, "untitled-1").locator(".session-row__name").textContent(), { timeout: 5000 })
      .toBe("/orchestrator create TODO app");
  });

  it("does not send a frame per event: a burst of 400 tool events gives the list a few updates", async () => {
    await postEvents(server, [{ sessionId: "busy-1", type: "session:started", cwd: "/srv/busy", title: "Busy" }]);
    await row(live, "busy-1").waitFor();
    // Count the progress frames this page's socket receives.
    const frames: string[] = [];
    live.on("websocket", () => {});
    const cdp = await live.context().newCDPSession(live);
    await cdp.send("Network.enable");
    cdp.on("Network.webSocketFrameReceived", (e: { response: { payloadData: string } }) => {
      if (e.response.payloadData.includes('"type":"progress"') && e.response.payloadData.includes("busy-1")) frames.push(e.response.payloadData);
    });
    for (let i = 0; i < 20; i++) {
      const batch: object[] = [];
      for (let j = 0; j < 10; j++) {
        const id = `tu-${i}-${j}`;
        batch.push({ sessionId: "busy-1", type: "tool:used", toolName: "Read", toolUseId: id, status: "started", input: { file_path: "/srv/busy/a" } });
        batch.push({ sessionId: "busy-1", type: "tool:used", toolName: "Read", toolUseId: id, status: "succeeded", durationMs: 3 });
      }
      await postEvents(server, batch);
    }
    await expect.poll(() => row(live, "busy-1").locator('[title="tool calls · failures"]').textContent(), { timeout: 5000 }).toBe("200");
    // 20 posts of 20 events: at most one frame per post (in practice one per 500 ms).
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThanOrEqual(20);
    await cdp.detach();
  });
});
