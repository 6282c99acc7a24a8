// Chainwatch's service worker: the installable app's Web Push. A push carries one
// Notice (crates/shared/src/notify.rs, web/src/generated/Notice.ts). "waiting" shows a
// notification naming the session and what waits, with Allow and Deny for a
// permission; "settled" closes that item's notification. Allow/Deny answer the server
// with the person's own token (the page hands it over with postMessage; kept in this
// worker's cache, deleted on sign-out), so the record names who answered; the first
// answer wins and a late one says so. A tap opens the session on the page.
// Plain JavaScript: the browser loads this file as it is (web/public is copied verbatim).
/* eslint-env serviceworker */
"use strict";

const STORE = "chainwatch-sw";
const TOKEN_KEY = "/__chainwatch/token";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

/** @param {string} token */
async function keepToken(token) {
  const cache = await caches.open(STORE);
  if (token === "") await cache.delete(TOKEN_KEY);
  else await cache.put(TOKEN_KEY, new Response(token));
}

/** @returns {Promise<string>} */
async function readToken() {
  const cache = await caches.open(STORE);
  const found = await cache.match(TOKEN_KEY);
  return found ? await found.text() : "";
}

self.addEventListener("message", (event) => {
  const data = event.data;
  if (data && data.type === "token" && typeof data.token === "string") {
    event.waitUntil(keepToken(data.token));
  }
});

/** The notification tag of an item: one notification per item. */
function tagOf(notice) {
  return `chainwatch:${notice.sessionId}:${notice.itemId}`;
}

function sessionUrl(sessionId) {
  return new URL(`/#/sessions/${encodeURIComponent(sessionId)}`, self.location.origin).href;
}

async function show(notice) {
  if (notice.state === "settled") {
    const open = await self.registration.getNotifications({ tag: tagOf(notice) });
    for (const n of open) n.close();
    return;
  }
  const permission = notice.moment === "permission";
  await self.registration.showNotification(notice.title, {
    body: `${notice.sessionLabel}: ${notice.message}`,
    tag: tagOf(notice),
    data: notice,
    requireInteraction: permission,
    icon: "/icon-192.png",
    badge: "/icon-192.png",
    actions: permission
      ? [
          { action: "allow", title: "Allow" },
          { action: "deny", title: "Deny" },
        ]
      : [],
  });
}

self.addEventListener("push", (event) => {
  let notice;
  try {
    notice = event.data ? event.data.json() : undefined;
  } catch {
    notice = undefined;
  }
  if (!notice || typeof notice.sessionId !== "string") return;
  event.waitUntil(show(notice));
});

/** Allow or Deny from the notification, as the person whose token this worker holds. */
async function decide(notice, behavior) {
  const token = await readToken();
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token !== "") headers["Authorization"] = `Bearer ${token}`;
  const url = `/api/sessions/${encodeURIComponent(notice.sessionId)}/permissions/${encodeURIComponent(notice.itemId)}`;
  let outcome;
  try {
    const response = await fetch(url, { method: "POST", headers, body: JSON.stringify({ behavior }) });
    if (response.ok) return;
    let message = `${response.status}`;
    try {
      message = (await response.json()).message || message;
    } catch {
      // not JSON
    }
    outcome =
      response.status === 409
        ? "Already answered: the first answer wins."
        : response.status === 401 || response.status === 403
          ? `Not allowed from here (${message}). Open the page and sign in.`
          : `Could not answer: ${message}`;
  } catch (err) {
    outcome = `Could not reach Chainwatch: ${String(err)}`;
  }
  await self.registration.showNotification(notice.title, {
    body: outcome,
    tag: tagOf(notice),
    data: notice,
  });
}

async function openItem(notice) {
  const target = sessionUrl(notice.sessionId);
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === self.location.origin && "focus" in client) {
      const shown = ("navigate" in client ? await client.navigate(target) : null) ?? client;
      try {
        await shown.focus();
      } catch {
        // Focus needs the tap's user activation; without one (a click dispatched by
        // script) the page is still on the item.
      }
      return;
    }
  }
  await self.clients.openWindow(target);
}

/**
 * Keeps the worker alive until `work` ends. A click dispatched by script (the browser
 * tests' stand-in for a tap: DevTools can deliver a push but cannot click a system
 * notification) is not trusted, and Chromium refuses waitUntil on it; the work runs
 * all the same.
 */
function keepAlive(event, work) {
  try {
    event.waitUntil(work);
  } catch {
    // an untrusted event: nothing to keep alive
  }
}

self.addEventListener("notificationclick", (event) => {
  const notice = event.notification.data;
  event.notification.close();
  if (!notice || typeof notice.sessionId !== "string") return;
  if (event.action === "allow" || event.action === "deny") {
    keepAlive(event, decide(notice, event.action));
  } else {
    keepAlive(event, openItem(notice));
  }
});
