// A permission request's toast answers it in place: Allow and Deny post the same
// decision the Needs-you card does (the same route, as the person signed in). The first
// answer wins: a click that comes second is refused by the server and the toast says
// who was first; a request settled anywhere withdraws its toast. On a phone the buttons
// are touch-sized.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionDetail } from "../../src/generated";
import { Browser, ChainwatchServer, ok, postEvents } from "./harness";

let server: ChainwatchServer;
let browser: Browser;
let page: Page;

const toastOf = (p: Page, id: string) => p.locator(`.toast[data-toast-key="permission:toasts-1:${id}"]`);

async function request(id: string, command: string): Promise<void> {
  await postEvents(server, [
    { sessionId: "toasts-1", type: "tool:used", toolName: "Bash", toolUseId: `tu-${id}`, status: "started", input: { command } },
    { sessionId: "toasts-1", type: "permission:requested", requestId: id, toolName: "Bash", toolInput: { command } },
  ]);
}

async function decision(id: string): Promise<{ behavior: string; decidedBy?: string } | undefined> {
  const events = await ok<{ events: { type: string; requestId?: string; behavior?: string; decidedBy?: string }[] }>(
    server,
    "GET",
    "/api/sessions/toasts-1/events?since=0",
  );
  const decided = events.events.find((e) => e.type === "permission:decided" && e.requestId === id);
  return decided === undefined ? undefined : { behavior: decided.behavior ?? "", ...(decided.decidedBy !== undefined ? { decidedBy: decided.decidedBy } : {}) };
}

beforeAll(async () => {
  server = await ChainwatchServer.start({ watch: false });
  browser = await Browser.launch({ viewport: { width: 1280, height: 800 } });
  await postEvents(server, [{ sessionId: "toasts-1", type: "session:started", cwd: "/home/ada/shop", title: "Ship the shop" }]);
  page = await browser.open(server, "#/");
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("a permission toast", () => {
  it("denies from the toast: the server records the person's answer and the toast goes", async () => {
    await request("p-deny", "git push --force origin main");
    const toast = toastOf(page, "p-deny");
    await toast.waitFor();
    await toast.getByRole("button", { name: "Deny" }).click();
    await expect.poll(() => decision("p-deny")).toEqual({ behavior: "deny", decidedBy: "local" });
    await toast.waitFor({ state: "detached" });
    // The denied call is settled as a failed call, on the page and on the server alike.
    const s = await ok<SessionDetail>(server, "GET", "/api/sessions/toasts-1");
    expect(s.counts.toolCalls).toBe(1);
    expect(s.counts.failures).toBe(1);
    await expect.poll(() => page.locator('tr[data-session-id="toasts-1"] [title="tool calls · failures"]').textContent()).toBe("1 · 1 failed");
  });

  it("allows from the toast", async () => {
    await request("p-allow", "npm test");
    const toast = toastOf(page, "p-allow");
    await toast.getByRole("button", { name: "Allow" }).click();
    await expect.poll(() => decision("p-allow")).toEqual({ behavior: "allow", decidedBy: "local" });
    await toast.waitFor({ state: "detached" });
  });

  it("says so when someone else answered first", async () => {
    await request("p-race", "rm -rf dist");
    const toast = toastOf(page, "p-race");
    await toast.waitFor();
    // Another person's Allow lands between this click and its request.
    await page.route("**/api/sessions/toasts-1/permissions/p-race", async (route) => {
      await ok(server, "POST", "/api/sessions/toasts-1/permissions/p-race", { behavior: "allow" });
      await route.continue();
    });
    await toast.getByRole("button", { name: "Deny" }).click();
    const refused = page.locator(".toast--error", { hasText: "Deny not accepted: someone answered first" });
    await refused.waitFor();
    // The first answer stands.
    expect(await decision("p-race")).toEqual({ behavior: "allow", decidedBy: "local" });
    await page.unroute("**/api/sessions/toasts-1/permissions/p-race");
    await toast.waitFor({ state: "detached" });
    expect(browser.problems).toEqual([]);
  });

  it("is withdrawn on every page when decided in another", async () => {
    const other = await browser.open(server, "#/");
    await request("p-elsewhere", "git reset --hard");
    await toastOf(page, "p-elsewhere").waitFor();
    await toastOf(other, "p-elsewhere").getByRole("button", { name: "Allow" }).click();
    await toastOf(page, "p-elsewhere").waitFor({ state: "detached" });
    await other.close();
  });

  it("has touch-sized buttons on a phone", async () => {
    const phone = await Browser.launch({ viewport: { width: 390, height: 844 } });
    try {
      const p = await phone.open(server, "#/");
      await request("p-phone", "make deploy");
      const toast = toastOf(p, "p-phone");
      await toast.waitFor();
      for (const name of ["Allow", "Deny"]) {
        const box = await toast.getByRole("button", { name }).boundingBox();
        expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
      }
      const box = await toast.boundingBox();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= 390).toBe(true);
    } finally {
      await phone.close();
    }
  });
});
