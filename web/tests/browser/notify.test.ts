// Away from the page, in Debian's Chromium against the real server: who answered is
// shown beside the item and in the session's history, and the installed app's service
// worker turns a push (delivered through the DevTools protocol, as a push service
// would) into a notification whose Allow decides the permission on the server, with
// the person's own token.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, ChainwatchServer, REPO_DIR, tempDir, waitLive } from "./harness";

const SCREENSHOT = join(REPO_DIR, "docs", "screenshots", "phone-notifications.png");
const writeScreenshots = process.env["CHAINWATCH_SCREENSHOTS"] !== "0";

const AGENT = "agent-token-browser-0123";
const GRACE = "grace-operator-token-0123";

let server: ChainwatchServer;
let browser: Browser;

async function as<T = unknown>(token: string, method: string, path: string, body?: unknown, status = 200): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${text}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

async function openAs(token: string, hash: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (err) => browser.problems.push(`page error: ${err.message}`));
  await page.addInitScript((t) => sessionStorage.setItem("chainwatch.token", t), token);
  await page.goto(`${server.pageUrl}/${hash}`);
  await waitLive(page);
  return page;
}

beforeAll(async () => {
  const dir = tempDir("chainwatch-notify-tokens-");
  const tokens = join(dir, "tokens.json");
  writeFileSync(
    tokens,
    JSON.stringify([
      { name: "hook", role: "agent", token: AGENT },
      { name: "grace", role: "operator", token: GRACE },
    ]),
  );
  server = await ChainwatchServer.start({ watch: false, args: ["--tokens-file", tokens] });
  browser = await Browser.launch();
});

afterAll(async () => {
  await browser?.close();
  await server?.dispose();
});

describe("who answered", () => {
  it("shows the answering token's name beside the item and in the session's history", async () => {
    await as(AGENT, "POST", "/api/sessions", { id: "who-1", cwd: "/work/who" }, 201);
    await as(AGENT, "POST", "/api/sessions/who-1/permissions", {
      requestId: "perm-who",
      toolName: "Bash",
      toolInput: { command: "rm -rf build" },
    }, 201);
    const page = await openAs(GRACE, "#/needs-you");
    try {
      const card = page.locator('[data-request-id="perm-who"]').first();
      await card.getByRole("button", { name: /allow/i }).click();
      const resolved = page.locator('.resolved__item[data-request-id="perm-who"]');
      await expect.poll(() => resolved.locator(".resolved__by").textContent()).toBe("by grace");
      const decided = await as<{ request: { decision?: { decidedBy?: string } } }>(
        GRACE,
        "GET",
        "/api/sessions/who-1/permissions/perm-who",
      );
      expect(decided.request.decision?.decidedBy).toBe("grace");
      // The session's history (its timeline) names who decided.
      await page.goto(`${server.pageUrl}/#/sessions/who-1`);
      await waitLive(page);
      await expect
        .poll(async () => (await page.locator("body").textContent()) ?? "", { timeout: 10_000 })
        .toContain("allow · by grace");
    } finally {
      await page.close();
    }
  });
});

describe("the installed app's push notifications", () => {
  it("serves a manifest with icons and a service worker", async () => {
    const manifest = (await (await fetch(`${server.url}/manifest.webmanifest`)).json()) as {
      display: string;
      icons: { src: string }[];
    };
    expect(manifest.display).toBe("standalone");
    for (const icon of manifest.icons) {
      const res = await fetch(`${server.url}${icon.src}`);
      expect(res.headers.get("content-type")).toBe("image/png");
    }
    const sw = await fetch(`${server.url}/sw.js`);
    expect(sw.headers.get("content-type")).toContain("javascript");
  });

  it("shows a pushed permission as a notification whose Allow decides it as the person", async () => {
    await browser.context.grantPermissions(["notifications"], { origin: server.pageUrl });
    await as(AGENT, "POST", "/api/sessions", { id: "push-1", cwd: "/work/phone-app" }, 201);
    await as(AGENT, "POST", "/api/sessions/push-1/permissions", {
      requestId: "perm-push",
      toolName: "Bash",
      toolInput: { command: "npm publish" },
    }, 201);
    const page = await openAs(GRACE, "#/");
    try {
      const cdp = await browser.context.newCDPSession(page);
      const registrations = new Map<string, string>();
      cdp.on("ServiceWorker.workerRegistrationUpdated", (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
        for (const r of e.registrations) registrations.set(r.scopeURL, r.registrationId);
      });
      await cdp.send("ServiceWorker.enable");
      // The page registered its worker and handed it the token.
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await expect.poll(() => registrations.get(`${server.pageUrl}/`)).toBeDefined();
      const registrationId = registrations.get(`${server.pageUrl}/`) ?? "";
      // The notice exactly as the server sends it (tests/notify_push.rs checks that end).
      const notice = {
        id: "n1",
        state: "waiting",
        moment: "permission",
        sessionId: "push-1",
        sessionLabel: "phone-app",
        itemId: "perm-push",
        title: "Permission needed in phone-app",
        message: "Bash: npm publish",
        url: `${server.pageUrl}/#/sessions/push-1`,
        since: new Date().toISOString(),
        at: new Date().toISOString(),
      };
      const shown = async () =>
        page.evaluate(async () => {
          const reg = await navigator.serviceWorker.ready;
          const list = await reg.getNotifications();
          return list.map((n) => ({
            title: n.title,
            body: n.body,
            tag: n.tag,
            actions: ((n as unknown as { actions?: { action: string }[] }).actions ?? []).map((a) => a.action),
          }));
        });
      // DevTools may drop a push sent while the worker is still starting (about one run
      // in five here): send again until it shows; one tag per item keeps it one.
      await expect
        .poll(
          async () => {
            if ((await shown()).length === 0) {
              await cdp.send("ServiceWorker.deliverPushMessage", {
                origin: server.pageUrl,
                registrationId,
                data: JSON.stringify(notice),
              });
              await new Promise((r) => setTimeout(r, 300));
            }
            return (await shown()).length;
          },
          { timeout: 15_000 },
        )
        .toBe(1);
      const [first] = await shown();
      expect(first?.title).toBe("Permission needed in phone-app");
      expect(first?.body).toBe("phone-app: Bash: npm publish");
      expect(first?.actions).toEqual(["allow", "deny"]);
      // Allow, as the notification's button does.
      await page.evaluate(async (tag) => {
        const reg = await navigator.serviceWorker.ready;
        reg.active?.postMessage({ type: "notification-action", tag, action: "allow" });
      }, first?.tag ?? "");
      await expect
        .poll(
          async () =>
            (
              await as<{ request: { decision?: { behavior: string; decidedBy?: string } } }>(
                GRACE,
                "GET",
                "/api/sessions/push-1/permissions/perm-push",
              )
            ).request.decision,
          { timeout: 10_000 },
        )
        .toEqual(expect.objectContaining({ behavior: "allow", decidedBy: "grace" }));
      // A late Deny (the first answer won) says so instead of failing silently.
      await cdp.send("ServiceWorker.deliverPushMessage", {
        origin: server.pageUrl,
        registrationId,
        data: JSON.stringify({ ...notice, id: "n0", state: "waiting" }),
      });
      await expect.poll(async () => (await shown()).length).toBe(1);
      await page.evaluate(async (tag) => {
        const reg = await navigator.serviceWorker.ready;
        reg.active?.postMessage({ type: "notification-action", tag, action: "deny" });
      }, first?.tag ?? "");
      await expect
        .poll(async () => (await shown())[0]?.body, { timeout: 10_000 })
        .toBe("Already answered: the first answer wins.");
      // A settled push withdraws the item's notification.
      await cdp.send("ServiceWorker.deliverPushMessage", {
        origin: server.pageUrl,
        registrationId,
        data: JSON.stringify({ ...notice, id: "n2", state: "settled", outcome: "allow", by: "grace" }),
      });
      await expect.poll(async () => (await shown()).length).toBe(0);
    } finally {
      await page.close();
    }
  });

  it("fits a phone: the Needs-you view with the Notifications panel open", async () => {
    await as(AGENT, "POST", "/api/sessions", { id: "phone-1", cwd: "/home/ada/src/billing", title: "Migrate billing to Stripe v2" }, 201);
    await as(AGENT, "POST", "/api/sessions/phone-1/permissions", {
      requestId: "perm-phone",
      toolName: "Bash",
      toolInput: { command: "psql -f migrations/0042_invoices.sql" },
    }, 201);
    const page = await openAs(GRACE, "#/needs-you");
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator('[data-request-id="perm-phone"]').first().waitFor();
      await page.getByRole("button", { name: "Notifications" }).click();
      const panel = page.getByRole("dialog", { name: "Notifications" });
      await panel.getByRole("button", { name: /push on this browser/ }).waitFor();
      await expect.poll(() => panel.locator('input[name="permission"]').isChecked()).toBe(true);
      if (writeScreenshots) await page.screenshot({ path: SCREENSHOT });
    } finally {
      await page.close();
    }
  });

  it("saw no page errors", () => {
    expect(browser.problems).toEqual([]);
  });
});
