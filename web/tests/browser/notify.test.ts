// Away from the page, in Debian's Chromium against the real server: who answered is
// shown beside the item and in the session's history, and the installed app's service
// worker turns a push (delivered through the DevTools protocol, as a push service
// would) into a notification whose Allow decides the permission on the server, with
// the person's own token. A tap is a real `notificationclick` dispatched inside the
// service worker on the shown notification (DevTools cannot click a system
// notification), so the handler a tap runs is the one tested.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page, Worker } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser, ChainwatchServer, REPO_DIR, tempDir, waitLive } from "./harness";
import { PushEndpoint } from "./pushEndpoint";

const SCREENSHOT = join(REPO_DIR, "docs", "screenshots", "phone-notifications.png");
const APP_SCREENSHOT = join(REPO_DIR, "docs", "screenshots", "phone-app-notice.png");
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

/** The app's service worker, as DevTools sees it. */
async function serviceWorker(): Promise<Worker> {
  const ours = (w: Worker) => w.url().startsWith(server.pageUrl);
  return browser.context.serviceWorkers().find(ours) ?? (await browser.context.waitForEvent("serviceworker", { predicate: ours }));
}

/**
 * Taps the item's shown notification (its body, or one of its action buttons): a
 * `notificationclick` on that notification, dispatched in the service worker, where the
 * system would dispatch it. False when no notification with that tag is shown.
 */
async function tap(tag: string, action: "" | "allow" | "deny"): Promise<boolean> {
  const worker = await serviceWorker();
  return worker.evaluate(
    async ({ tag, action }) => {
      type Scope = { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean };
      type NotificationEventInit = { notification: Notification; action: string };
      const scope = self as unknown as Scope & { NotificationEvent: new (type: string, init: NotificationEventInit) => Event };
      const [notification] = await scope.registration.getNotifications({ tag });
      if (notification === undefined) return false;
      scope.dispatchEvent(new scope.NotificationEvent("notificationclick", { notification, action }));
      return true;
    },
    { tag, action },
  );
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
  // http push endpoints: the test's own push endpoint stands where a push service would.
  server = await ChainwatchServer.start({
    watch: false,
    args: ["--tokens-file", tokens, "--push-allow-http", "--notify-quiet-secs", "1"],
  });
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
      // DevTools may drop a push that wakes a starting or stopped worker (about one run
      // in five here): send again until it shows; one tag per item keeps it one.
      const pushUntilShown = async (data: string) =>
        expect
          .poll(
            async () => {
              if ((await shown()).length === 0) {
                await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.pageUrl, registrationId, data });
                await new Promise((r) => setTimeout(r, 300));
              }
              return (await shown()).length;
            },
            { timeout: 15_000 },
          )
          .toBe(1);
      await pushUntilShown(JSON.stringify(notice));
      const [first] = await shown();
      expect(first?.title).toBe("Permission needed in phone-app");
      expect(first?.body).toBe("phone-app: Bash: npm publish");
      expect(first?.actions).toEqual(["allow", "deny"]);
      // The notification's Allow button.
      expect(await tap(first?.tag ?? "", "allow")).toBe(true);
      // The handler closed it.
      await expect.poll(async () => (await shown()).length).toBe(0);
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
      // A late Deny (the first answer won) says so instead of failing silently. The
      // worker may have stopped after the tap: DevTools drops a push that wakes it now
      // and then, so send again until it shows, as above.
      await pushUntilShown(JSON.stringify({ ...notice, id: "n0", state: "waiting" }));
      expect(await tap(first?.tag ?? "", "deny")).toBe(true);
      await expect
        .poll(async () => (await shown())[0]?.body, { timeout: 10_000 })
        .toBe("Already answered: the first answer wins.");
      const decision = await as<{ request: { decision?: { behavior: string } } }>(GRACE, "GET", "/api/sessions/push-1/permissions/perm-push");
      expect(decision.request.decision?.behavior).toBe("allow");
      // Tapping the notification's body opens the item on the page.
      expect(await tap(first?.tag ?? "", "")).toBe(true);
      await expect.poll(() => new URL(page.url()).hash, { timeout: 10_000 }).toBe("#/sessions/push-1");
      await expect.poll(async () => (await shown()).length).toBe(0);
      // Shown again, for the withdrawal below.
      await pushUntilShown(JSON.stringify({ ...notice, id: "n3", state: "waiting" }));
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

  it("turning on push in a browser that cannot reach its push service says why", async () => {
    // Debian's Chromium offline has no push service: subscribing never answers.
    const offline = await Browser.launch();
    try {
      const page = await offline.context.newPage();
      await page.addInitScript((t) => sessionStorage.setItem("chainwatch.token", t), GRACE);
      await page.goto(`${server.pageUrl}/#/`);
      await waitLive(page);
      await page.getByRole("button", { name: "Notifications" }).click();
      const panel = page.getByRole("dialog", { name: "Notifications" });
      // Notifications not allowed for the site: said so, nothing subscribed.
      await panel.getByRole("button", { name: "Turn on push on this browser" }).click();
      await expect
        .poll(() => panel.getByRole("alert").textContent(), { timeout: 10_000 })
        .toBe("Notifications are blocked for this site in the browser's settings.");
      await offline.context.grantPermissions(["notifications"], { origin: server.pageUrl });
      await panel.getByRole("button", { name: "Turn on push on this browser" }).click();
      await expect
        .poll(() => panel.getByRole("alert").textContent(), { timeout: 30_000 })
        .toMatch(/^This browser could not reach its push service \(no answer from the push service in 15 s\)/);
      await panel.getByRole("button", { name: "Turn on push on this browser" }).waitFor();
      const key = await as<{ subscriptions: number }>(GRACE, "GET", "/api/push/key");
      expect(key.subscriptions).toBe(0);
    } finally {
      await offline.close();
    }
  }, 60_000);

  it("turns on push from the page: subscribed with the server's key, stored, pushed, answered from the notification", async () => {
    const endpoint = await PushEndpoint.start();
    const subscription = endpoint.subscription();
    const page = await browser.context.newPage();
    page.on("pageerror", (err) => browser.problems.push(`page error: ${err.message}`));
    await page.addInitScript((t) => sessionStorage.setItem("chainwatch.token", t), GRACE);
    // The one part this machine cannot run is the browser asking its push service for an
    // endpoint (Chromium has no push service offline). The page's PushManager hands out
    // the test's push endpoint instead, and records the key the page subscribed with;
    // everything else is the page's own code and the real server.
    await page.addInitScript((sub) => {
      type Stand = { endpoint: string; toJSON(): unknown; unsubscribe(): Promise<boolean> };
      let current: Stand | null = null;
      const w = window as unknown as { __subscribedWith?: string };
      PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
        const key = options?.applicationServerKey;
        const bytes = key instanceof ArrayBuffer ? new Uint8Array(key) : ArrayBuffer.isView(key) ? new Uint8Array(key.buffer, key.byteOffset, key.byteLength) : new Uint8Array();
        w.__subscribedWith = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
        current = {
          endpoint: sub.endpoint,
          toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: sub.keys }),
          unsubscribe: async () => {
            current = null;
            return true;
          },
        };
        return current as unknown as PushSubscription;
      };
      PushManager.prototype.getSubscription = async () => current as unknown as PushSubscription | null;
    }, subscription);
    try {
      await browser.context.grantPermissions(["notifications"], { origin: server.pageUrl });
      await page.goto(`${server.pageUrl}/#/`);
      await waitLive(page);
      await page.getByRole("button", { name: "Notifications" }).click();
      const panel = page.getByRole("dialog", { name: "Notifications" });
      await panel.getByRole("button", { name: "Turn on push on this browser" }).click();
      await panel.getByRole("button", { name: "Turn off push on this browser" }).waitFor();
      // Subscribed with the server's VAPID key, and stored under grace's token.
      const key = await as<{ publicKey: string; subscriptions: number }>(GRACE, "GET", "/api/push/key");
      expect(await page.evaluate(() => (window as unknown as { __subscribedWith?: string }).__subscribedWith)).toBe(key.publicKey);
      expect(key.subscriptions).toBe(1);

      // Something starts waiting: the server pushes it to the stored subscription.
      await as(AGENT, "POST", "/api/sessions", { id: "chain-1", cwd: "/work/chain" }, 201);
      await as(AGENT, "POST", "/api/sessions/chain-1/permissions", {
        requestId: "perm-chain",
        toolName: "Bash",
        toolInput: { command: "terraform apply" },
      }, 201);
      const pushed = async (state: string) => {
        await expect
          .poll(() => endpoint.received.some((r) => r.payload.includes('"perm-chain"') && r.payload.includes(`"state":"${state}"`)), { timeout: 15_000 })
          .toBe(true);
        const found = endpoint.received.find((r) => r.payload.includes('"perm-chain"') && r.payload.includes(`"state":"${state}"`));
        expect(found?.vapidKey).toBe(key.publicKey);
        return found?.payload ?? "";
      };
      const waiting = await pushed("waiting");
      expect(JSON.parse(waiting)).toEqual(expect.objectContaining({ moment: "permission", sessionLabel: "chain", message: "Bash: terraform apply" }));

      // The push service would hand those bytes to the service worker: DevTools does.
      const cdp = await browser.context.newCDPSession(page);
      const registrations = new Map<string, string>();
      cdp.on("ServiceWorker.workerRegistrationUpdated", (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
        for (const r of e.registrations) registrations.set(r.scopeURL, r.registrationId);
      });
      await cdp.send("ServiceWorker.enable");
      await expect.poll(() => registrations.get(`${server.pageUrl}/`)).toBeDefined();
      const registrationId = registrations.get(`${server.pageUrl}/`) ?? "";
      const tag = "chainwatch:chain-1:perm-chain";
      const shownTags = () =>
        page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => n.tag));
      await expect
        .poll(
          async () => {
            if (!(await shownTags()).includes(tag)) {
              await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.pageUrl, registrationId, data: waiting });
              await new Promise((r) => setTimeout(r, 300));
            }
            return (await shownTags()).includes(tag);
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      expect(await tap(tag, "allow")).toBe(true);
      await expect
        .poll(
          async () =>
            (await as<{ request: { decision?: { behavior: string; decidedBy?: string } } }>(GRACE, "GET", "/api/sessions/chain-1/permissions/perm-chain"))
              .request.decision,
          { timeout: 10_000 },
        )
        .toEqual(expect.objectContaining({ behavior: "allow", decidedBy: "grace" }));
      // Settled: pushed too, naming who answered.
      const settled = JSON.parse(await pushed("settled")) as { outcome?: string; by?: string };
      expect(settled).toEqual(expect.objectContaining({ outcome: "allow", by: "grace" }));
      expect(endpoint.refused).toEqual([]);

      // Turning it off forgets the subscription on the server.
      await panel.getByRole("button", { name: "Turn off push on this browser" }).click();
      await panel.getByRole("button", { name: "Turn on push on this browser" }).waitFor();
      expect((await as<{ subscriptions: number }>(GRACE, "GET", "/api/push/key")).subscriptions).toBe(0);
    } finally {
      await page.close();
      await endpoint.close();
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

  it("fits a phone: the app, full screen as installed, with the in-app notice of a new permission", async () => {
    // A system notification cannot be captured from headless Chromium: this is the
    // page's own notice (its toast) for the same moment, as the README says.
    await as(AGENT, "POST", "/api/sessions", { id: "phone-2", cwd: "/home/ada/src/api-server", title: "Rotate the staging database password" }, 201);
    const page = await openAs(GRACE, "#/");
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      const cdp = await browser.context.newCDPSession(page);
      // As the installed app runs (the manifest's "standalone"): no browser chrome.
      await cdp.send("Emulation.setEmulatedMedia", { features: [{ name: "display-mode", value: "standalone" }] }).catch(() => undefined);
      await as(AGENT, "POST", "/api/sessions/phone-2/permissions", {
        requestId: "perm-phone-2",
        toolName: "Bash",
        toolInput: { command: "aws secretsmanager rotate-secret --secret-id staging/db" },
      }, 201);
      const toast = page.locator('.toast[data-toast-key="permission:phone-2:perm-phone-2"]');
      await toast.waitFor();
      // The same choice the system notification offers.
      await toast.getByRole("button", { name: "Allow", exact: true }).waitFor();
      await toast.getByRole("button", { name: "Deny", exact: true }).waitFor();
      if (writeScreenshots) await page.screenshot({ path: APP_SCREENSHOT });
    } finally {
      await page.close();
    }
  });

  it("saw no page errors", () => {
    expect(browser.problems).toEqual([]);
  });
});
