// Needs you by urgency, against the real server: a tool call waiting for a decision
// comes before a finished turn's long message (which is cut to a few lines, the full
// text one click away), and a toast for a request carries its action and goes away as
// soon as the request is settled anywhere (here: decided over REST, as another tab or
// the terminal would).
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, ChainwatchServer, ok, postEvents } from "./harness";

let server: ChainwatchServer;
let browser: Browser;
let page: Page;

const LONG = `## Summary\n\n${Array.from({ length: 40 }, (_, i) => `- item ${i + 1} of what I did this turn`).join("\n")}`;

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1280, height: 800 } });
  page = await browser.open(server, "#/needs-you");
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("needs you", () => {
  it("puts a waiting permission above an older finished turn, and keeps the turn's text short", async () => {
    await postEvents(server, [
      { sessionId: "turn-1", type: "session:started", cwd: "/srv/a", title: "Write the docs" },
      { sessionId: "turn-1", type: "interaction:awaiting-input", requestId: "stop-1", prompt: LONG },
    ]);
    await page.locator('.needs-item[data-request-id="stop-1"]').waitFor();
    await postEvents(server, [
      { sessionId: "push-1", type: "session:started", cwd: "/srv/b", title: "Rewrite history" },
      { sessionId: "push-1", type: "permission:requested", requestId: "perm-1", toolName: "Bash", toolInput: { command: "git push --force" } },
    ]);
    const items = page.locator(".view--needs-you .needs-you__list > li");
    await expect.poll(() => items.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset["requestId"]))).toEqual(["perm-1", "stop-1"]);
    expect(await items.nth(1).locator(".tag").textContent()).toBe("turn ended");

    // The long message is cut; "Show the full text" opens it, Markdown rendered.
    const turn = items.nth(1);
    const height = async () => (await turn.boundingBox())?.height ?? 0;
    const short = await height();
    expect(short).toBeLessThan(320);
    expect(await turn.locator(".md li").count()).toBe(40);
    await turn.getByRole("button", { name: "Show the full text" }).click();
    await expect.poll(height).toBeGreaterThan(short + 300);
  });

  it("shows a toast with its action for a new permission, withdrawn once it is decided elsewhere", async () => {
    await page.bringToFront();
    await postEvents(server, [
      { sessionId: "push-1", type: "permission:requested", requestId: "perm-2", toolName: "Bash", toolInput: { command: "rm -rf build" } },
    ]);
    const toast = page.locator('.toast[data-toast-key="permission:push-1:perm-2"]');
    await toast.waitFor({ timeout: 2000 });
    // The action is in the toast: Allow and Deny, with the card one link away.
    expect(await toast.getByRole("button", { name: "Allow" }).isVisible()).toBe(true);
    expect(await toast.getByRole("button", { name: "Deny" }).isVisible()).toBe(true);
    expect(await toast.locator(".toast__link").getAttribute("href")).toBe("#/needs-you");
    await ok(server, "POST", "/api/sessions/push-1/permissions/perm-2", { behavior: "deny", message: "not now" });
    await toast.waitFor({ state: "detached", timeout: 2000 });
    expect(browser.problems).toEqual([]);
  });
});
