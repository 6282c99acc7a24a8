// The dashboard in a real browser against the real server: what the seed's session
// list could not do (a session created anywhere shows in every open tab at once),
// steering from the page, and surviving a server restart.
//
// The tests share one server and one browser and run in order; each names its own
// sessions, so an earlier one's leftovers do not change what a later one checks.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandList, InputState, PermissionState, Session } from "../../src/generated";
import { Browser, ChainwatchServer, go, liveRowIds, mark, markOf, ok, rest, waitLive } from "./harness";

let server: ChainwatchServer;
let browser: Browser;
let a: Page;
let b: Page;

const row = (page: Page, id: string) => page.locator(`table[aria-label="Live sessions"] tr[data-session-id="${id}"]`);
const item = (page: Page, requestId: string) => page.locator(`.needs-you__list li[data-request-id="${requestId}"]`);
const resolved = (page: Page, requestId: string) => page.locator(`.resolved [data-request-id="${requestId}"]`);

function createSession(id: string, extra: Partial<Session> = {}): Promise<Session> {
  return ok<Session>(server, "POST", "/api/sessions", { id, cwd: `/home/ada/src/${id}`, user: "ada", hostname: "laptop", ...extra }, 201);
}

beforeAll(async () => {
  server = await ChainwatchServer.start();
  browser = await Browser.launch();
  [a, b] = await Promise.all([browser.open(server), browser.open(server)]);
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("the live session list", () => {
  it("shows a session created over REST in both open pages within a second, once, without a reload", async () => {
    const marks = [await mark(a), await mark(b)];
    await createSession("live-1", { title: "Fix the flaky CI job" });
    // Within a second of the 201, in both pages.
    await Promise.all([row(a, "live-1").waitFor({ timeout: 3000 }), row(b, "live-1").waitFor({ timeout: 3000 })]);
    for (const page of [a, b]) {
      await expect.poll(() => row(page, "live-1").count()).toBe(1);
      expect(await row(page, "live-1").textContent()).toContain("Fix the flaky CI job");
    }
    // Neither page reloaded to get there.
    expect([await markOf(a), await markOf(b)]).toEqual(marks);
  });

  it("shows a PUT and an end in both pages", async () => {
    await ok(server, "PUT", "/api/sessions/live-1", { title: "Fix the flaky CI job (retrying)", summary: "re-running the suite" });
    for (const page of [a, b]) {
      await row(page, "live-1").getByText("Fix the flaky CI job (retrying)").waitFor({ timeout: 3000 });
      expect(await row(page, "live-1").count()).toBe(1);
    }

    // Page b watches History; page a the live list.
    await b.bringToFront();
    await b.getByRole("link", { name: "History" }).click();
    await b.locator('table[aria-label="Ended sessions"], .history .empty').first().waitFor();
    await ok(server, "POST", "/api/sessions/live-1/end", { status: "completed", reason: "green again" });
    await row(a, "live-1").waitFor({ state: "detached", timeout: 3000 });
    const ended = b.locator('table[aria-label="Ended sessions"] tr[data-session-id="live-1"]');
    await ended.waitFor({ timeout: 2000 });
    expect(await ended.locator('[data-status="completed"]').count()).toBe(1);
  });

  it("shows the same list in a page opened later", async () => {
    await createSession("live-2", { user: "grace", hostname: "build-01" });
    await createSession("live-3");
    await ok(server, "PUT", "/api/sessions/live-3", { title: "Tidy the README" });
    await row(a, "live-3").getByText("Tidy the README").waitFor({ timeout: 3000 });
    const later = await browser.open(server);
    try {
      await row(later, "live-3").waitFor();
      expect(await liveRowIds(later)).toEqual(await liveRowIds(a));
      expect(await liveRowIds(later)).toEqual(["live-3", "live-2"]);
    } finally {
      await later.close();
    }
  });

  it("moves through the list with the keyboard and opens a session with Enter", async () => {
    await go(a, "#/");
    await a.bringToFront();
    await row(a, "live-3").waitFor();
    await a.locator("body").press("j"); // focuses the list
    await a.keyboard.press("j");
    await expect.poll(() => a.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset["sessionId"])).toBe("live-2");
    await a.keyboard.press("k");
    await a.keyboard.press("Enter");
    await a.locator('.session-panel[data-session-id="live-3"]').waitFor();
    expect(await a.evaluate(() => window.location.hash)).toBe("#/sessions/live-3");
  });

  it("searches and pages History on the server", async () => {
    for (let i = 0; i < 27; i++) {
      const id = `old-${String(i).padStart(2, "0")}`;
      await createSession(id, { title: i % 2 === 0 ? `Nightly build ${i}` : `Refactor ${i}` });
      await ok(server, "POST", `/api/sessions/${id}/end`, { status: i === 4 ? "failed" : "completed" });
    }
    await go(b, "#/history");
    await b.bringToFront();
    const rows = b.locator('table[aria-label="Ended sessions"] tbody tr');
    await b.getByText("1–25 of 28").waitFor(); // 27 + live-1
    expect(await rows.count()).toBe(25);
    await b.getByRole("button", { name: "Older" }).click();
    await b.getByText("26–28 of 28").waitFor();
    expect(await rows.count()).toBe(3);
    await b.getByLabel("Search history").fill("nightly");
    await b.getByText("1–14 of 14").waitFor();
    await b.getByLabel("Outcome").selectOption("failed");
    await b.getByText("1–1 of 1").waitFor();
    expect(await rows.first().getAttribute("data-session-id")).toBe("old-04");
  });
});

describe("steering from the page", () => {
  it("sends an answer to a question to the hook side", async () => {
    await createSession("ask-1", { title: "Ship the release" });
    await go(a, "#/needs-you");
    await go(b, "#/needs-you");
    await ok(server, "POST", "/api/sessions/ask-1/awaiting-input", {
      requestId: "q-1",
      prompt: "Deploy to staging?",
      quickResponses: ["yes", "no"],
    }, 201);
    await Promise.all([item(a, "q-1").waitFor({ timeout: 3000 }), item(b, "q-1").waitFor({ timeout: 3000 })]);
    expect(await a.title()).toBe("(1) Chainwatch");

    // The hook waits for the answer (long poll) while the person clicks.
    const hook = rest<InputState>(server, "GET", "/api/sessions/ask-1/input?requestId=q-1&waitMs=10000");
    await a.bringToFront(); // a person clicks in the tab in front
    await item(a, "q-1").getByRole("button", { name: "yes" }).click();
    const answer = await hook;
    expect(answer.status).toBe(200);
    expect(answer.body.answer?.text).toBe("yes");

    // Both pages see it answered at once.
    for (const page of [a, b]) {
      await item(page, "q-1").waitFor({ state: "detached", timeout: 3000 });
      await resolved(page, "q-1").waitFor({ timeout: 3000 });
      expect(await resolved(page, "q-1").getAttribute("data-outcome")).toBe("answered");
    }
    // A second answer is refused by the server.
    const again = await rest(server, "POST", "/api/sessions/ask-1/input", { text: "no", requestId: "q-1" });
    expect(again.status).toBe(409);
  });

  it("answers in free text", async () => {
    await ok(server, "POST", "/api/sessions/ask-1/awaiting-input", { requestId: "q-free", prompt: "Which branch?", quickResponses: [] }, 201);
    await item(b, "q-free").waitFor({ timeout: 3000 });
    await b.bringToFront();
    await item(b, "q-free").getByLabel("Your answer").fill("release/2.4");
    await item(b, "q-free").getByRole("button", { name: "Send" }).click();
    const state = await ok<InputState>(server, "GET", "/api/sessions/ask-1/input?requestId=q-free&waitMs=5000");
    expect(state.answer?.text).toBe("release/2.4");
    await resolved(a, "q-free").waitFor({ timeout: 3000 });
  });

  it("shows the server's refusal when a question was already answered elsewhere", async () => {
    // A page that does not hear the answer arrive (its socket drops that one event),
    // so its person answers a question someone else already answered.
    const stale = await browser.context.newPage();
    await stale.routeWebSocket(/\/ws$/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        if (typeof message === "string" && message.includes('"requestId":"q-late"') && message.includes("input-received")) return;
        ws.send(message);
      });
      ws.onMessage((message) => upstream.send(message));
    });
    try {
      await stale.goto(`${server.pageUrl}/#/needs-you`);
      await waitLive(stale);
      await ok(server, "POST", "/api/sessions/ask-1/awaiting-input", { requestId: "q-late", prompt: "Merge it?", quickResponses: ["merge", "wait"] }, 201);
      await item(stale, "q-late").waitFor({ timeout: 3000 });
      await ok(server, "POST", "/api/sessions/ask-1/input", { text: "wait", requestId: "q-late" }, 201);
      await resolved(a, "q-late").waitFor({ timeout: 3000 }); // the other pages heard it
      await item(stale, "q-late").getByRole("button", { name: "merge" }).click();
      const refusal = item(stale, "q-late").getByRole("alert");
      await refusal.waitFor({ timeout: 2000 });
      expect(await refusal.textContent()).toMatch(/Not accepted: .*already answered/);
    } finally {
      await stale.close();
    }
  });

  it("shows a permission allowed on one page as decided on the other", async () => {
    await ok(server, "POST", "/api/sessions/ask-1/permissions", {
      requestId: "p-1",
      toolName: "Bash",
      toolInput: { command: "rm -rf build/", description: "Clean the build directory" },
    }, 201);
    await Promise.all([item(a, "p-1").waitFor({ timeout: 3000 }), item(b, "p-1").waitFor({ timeout: 3000 })]);
    expect(await item(b, "p-1").textContent()).toContain("rm -rf build/");

    await a.bringToFront();
    await item(a, "p-1").getByRole("button", { name: "Allow" }).click();
    await item(b, "p-1").waitFor({ state: "detached", timeout: 3000 });
    await resolved(b, "p-1").waitFor({ timeout: 3000 });
    expect(await resolved(b, "p-1").getAttribute("data-outcome")).toBe("allow");
    expect(await resolved(b, "p-1").textContent()).toContain("Allowed Bash");

    // The hook side has the decision; a second decision loses.
    const state = await ok<PermissionState>(server, "GET", "/api/sessions/ask-1/permissions/p-1?waitMs=0");
    expect(state.request.decision?.behavior).toBe("allow");
    const second = await rest<{ message: string }>(server, "POST", "/api/sessions/ask-1/permissions/p-1", { behavior: "deny" });
    expect(second.status).toBe(409);
    expect(second.body.message).toContain("first answer wins");
  });

  it("issues a command from a button and shows it pending, then acknowledged, on every page", async () => {
    await go(a, "#/sessions/ask-1");
    await go(b, "#/sessions/ask-1");
    for (const page of [a, b]) await page.locator('.session-panel[data-session-id="ask-1"]').waitFor();

    await a.bringToFront();
    await a.locator('button[data-command="pause"]').click();
    const pending = (page: Page) => page.locator('.commands__item[data-command="pause"][data-status="pending"]');
    await Promise.all([pending(a).waitFor({ timeout: 3000 }), pending(b).waitFor({ timeout: 3000 })]);
    for (const page of [a, b]) {
      await page.locator('.session-header [data-status="paused"]').waitFor({ timeout: 3000 });
      expect(await page.locator('button[data-command="resume"]').isEnabled()).toBe(true);
      expect(await page.locator('button[data-command="pause"]').isEnabled()).toBe(false);
    }

    const list = await ok<CommandList>(server, "GET", "/api/sessions/ask-1/commands");
    const pause = list.commands.find((c) => c.type === "pause");
    expect(pause?.status).toBe("pending");
    // The agent acknowledges it.
    await ok(server, "POST", `/api/sessions/ask-1/commands/${pause?.id ?? ""}/ack`, { note: "paused at a safe point" });
    for (const page of [a, b]) {
      const acked = page.locator(`.commands__item[data-command-id="${pause?.id ?? ""}"][data-status="acknowledged"]`);
      await acked.waitFor({ timeout: 3000 });
      expect(await acked.textContent()).toContain("paused at a safe point");
    }
  });
});

describe("notifications and sign-in", () => {
  it("asks for desktop alerts only on a click, then raises one (and a toast) for a new question", async () => {
    const page = await browser.context.newPage();
    // A stand-in Notification API that records what the page does with it, in a page
    // that is not what the person looks at.
    await page.addInitScript(() => {
      const w = window as unknown as { alerts: string[]; asked: number };
      w.alerts = [];
      w.asked = 0;
      class FakeNotification {
        static permission: NotificationPermission = "default";
        static requestPermission(): Promise<NotificationPermission> {
          w.asked += 1;
          FakeNotification.permission = "granted";
          return Promise.resolve("granted");
        }
        onclick: (() => void) | null = null;
        constructor(title: string, options?: NotificationOptions) {
          w.alerts.push(`${title} | ${options?.body ?? ""} | ${options?.tag ?? ""}`);
        }
        close(): void {}
      }
      Object.defineProperty(window, "Notification", { value: FakeNotification, configurable: true });
      Document.prototype.hasFocus = () => false;
    });
    try {
      await page.goto(`${server.pageUrl}/#/`);
      await waitLive(page);
      expect(await page.evaluate(() => (window as unknown as { asked: number }).asked)).toBe(0); // never on load
      await page.bringToFront();
      await page.getByRole("button", { name: "Enable desktop alerts" }).click();
      await page.getByRole("button", { name: "Desktop alerts on" }).waitFor();
      expect(await page.evaluate(() => (window as unknown as { asked: number }).asked)).toBe(1);

      await ok(server, "POST", "/api/sessions/ask-1/awaiting-input", { requestId: "q-alert", prompt: "Tag the release?", quickResponses: ["tag"] }, 201);
      await page.locator('.toast[data-toast-key="question:ask-1:q-alert"]').waitFor({ timeout: 3000 });
      await expect
        .poll(() => page.evaluate(() => (window as unknown as { alerts: string[] }).alerts))
        .toEqual(["Ship the release asks | Tag the release? | question:ask-1:q-alert"]);
      await ok(server, "POST", "/api/sessions/ask-1/input", { text: "tag", requestId: "q-alert" }, 201);
    } finally {
      await page.close();
    }
  });

  it("asks for a token on a 401, keeps it for the tab and sends it with every call", async () => {
    const token = "browser-test-token-0123456789";
    const page = await browser.context.newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { offered: string[][] };
      w.offered = [];
      const Native = window.WebSocket;
      class Recording extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          w.offered.push(protocols === undefined ? [] : ([] as string[]).concat(protocols));
        }
      }
      window.WebSocket = Recording;
    });
    // A server that wants the token (the real one, behind a check of the header).
    await page.route("**/api/**", (route) =>
      route.request().headers()["authorization"] === `Bearer ${token}`
        ? route.continue()
        : route.fulfill({ status: 401, json: { error: "unauthorized", message: "This server needs a bearer token." } }),
    );
    try {
      await page.goto(`${server.pageUrl}/#/`);
      const dialog = page.getByRole("dialog", { name: "Sign in to Chainwatch" });
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain("This server needs a bearer token.");
      const authorized = page.waitForRequest(
        (req) => req.url().includes("/api/sessions") && req.headers()["authorization"] === `Bearer ${token}`,
      );
      await page.bringToFront();
      await dialog.getByLabel("Token").fill(token);
      await dialog.getByRole("button", { name: "Sign in" }).click();
      await authorized;
      await dialog.waitFor({ state: "detached" });
      expect(await page.evaluate(() => sessionStorage.getItem("chainwatch.token"))).toBe(token);
      await expect
        .poll(() => page.evaluate(() => (window as unknown as { offered: string[][] }).offered))
        .toContainEqual(["chainwatch", `bearer.${token}`]);
      expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(1);
    } finally {
      await page.close();
    }
  });
});

describe("reconnecting", () => {
  it("reconnects after the server restarts and shows what it missed", async () => {
    await go(a, "#/");
    await row(a, "live-2").waitFor();
    const before = await mark(a);
    // What the page says to the server on its next connection.
    const sent: string[] = [];
    a.on("websocket", (ws) => ws.on("framesent", (frame) => sent.push(String(frame.payload))));

    // Keep the page off the network while the server is down and while things change,
    // so it can only learn of them by resuming.
    await browser.context.setOffline(true);
    await server.kill("SIGKILL");
    await a.locator('.connection[data-state="reconnecting"]').waitFor({ timeout: 5000 });
    await server.start();
    await createSession("after-restart", { title: "Started while the page was away" });
    await ok(server, "PUT", "/api/sessions/live-2", { title: "Renamed while the page was away" });
    await ok(server, "POST", "/api/sessions/live-3/end", { status: "cancelled" });
    expect(await a.locator(".connection").getAttribute("data-state")).not.toBe("open");

    await browser.context.setOffline(false);
    await waitLive(a, 15_000);
    await row(a, "after-restart").waitFor({ timeout: 2000 });
    await row(a, "live-2").getByText("Renamed while the page was away").waitFor({ timeout: 2000 });
    await row(a, "live-3").waitFor({ state: "detached", timeout: 2000 });
    expect(await row(a, "after-restart").count()).toBe(1);
    expect(await liveRowIds(a)).toEqual(["after-restart", "ask-1", "live-2"]);
    expect(await markOf(a)).toBe(before);
    // It caught up by resuming from the seq it had, not by reloading everything.
    const resume = sent.map((f) => JSON.parse(f) as { type: string; since?: number }).find((m) => m.type === "resume");
    expect(resume?.since).toBeGreaterThan(0);
  });

  it("saw no page errors and no CSP violations", () => {
    expect(browser.problems).toEqual([]);
  });
});
