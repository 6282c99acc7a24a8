// Web Push for this browser: registers the service worker (public/sw.js), subscribes
// with the server's VAPID key and registers the subscription under the signed-in token.
// The service worker answers Allow/Deny from a notification with that same token, so
// the page hands it the token whenever it changes (it keeps it in its own cache).
import { api } from "../api";
import type { PushSubscription as WirePushSubscription } from "../generated";
import { readToken } from "../auth";

export type PushSupport = "supported" | "insecure" | "unsupported";

/** Whether this browser can take pushes here: service workers need https or localhost. */
export function pushSupport(): PushSupport {
  if (typeof window === "undefined" || !("serviceWorker" in navigator) || !("PushManager" in window)) {
    return "unsupported";
  }
  return window.isSecureContext ? "supported" : "insecure";
}

/** Registers the service worker (idempotent) and gives it the current token. */
export async function registerWorker(): Promise<ServiceWorkerRegistration | undefined> {
  if (pushSupport() !== "supported") return undefined;
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  await shareToken(registration);
  return registration;
}

/** Hands the signed-in token to the service worker (or tells it there is none). */
export async function shareToken(registration?: ServiceWorkerRegistration): Promise<void> {
  if (pushSupport() !== "supported") return;
  const reg = registration ?? (await navigator.serviceWorker.ready);
  const worker = reg.active ?? reg.waiting ?? reg.installing;
  worker?.postMessage({ type: "token", token: readToken() ?? "" });
}

function base64UrlToBytes(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const raw = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function toWire(subscription: globalThis.PushSubscription): WirePushSubscription {
  const json = subscription.toJSON();
  const keys = json.keys ?? {};
  return {
    endpoint: subscription.endpoint,
    keys: { p256dh: keys["p256dh"] ?? "", auth: keys["auth"] ?? "" },
  };
}

/** This browser's current subscription, if it has one. */
export async function currentSubscription(): Promise<globalThis.PushSubscription | null> {
  if (pushSupport() !== "supported") return null;
  const registration = await navigator.serviceWorker.getRegistration("/");
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/**
 * How long subscribing may take. The browser asks its push service (Google's for Chrome
 * and Chromium, Mozilla's for Firefox, Apple's for Safari) for an endpoint; a browser
 * that cannot reach it may never answer (Debian's Chromium offline waits forever).
 */
export const SUBSCRIBE_TIMEOUT_MS = 15_000;

/** Why subscribing failed, in words a person can act on. */
export function subscribeFailure(err: unknown): string {
  const name = err instanceof DOMException ? err.name : "";
  const detail = err instanceof Error ? err.message : String(err);
  if (name === "NotAllowedError") return "Notifications are blocked for this site in the browser's settings.";
  if (name === "TimeoutError" || name === "AbortError" || /push service/i.test(detail)) {
    return `This browser could not reach its push service (${detail}). Push goes through the browser maker's push service (Google's for Chrome and Chromium), which must be reachable from this device; webhooks and ntfy work without it (docs/NOTIFY.md)`;
  }
  return `The browser refused to subscribe (${detail})`;
}

async function subscribe(registration: ServiceWorkerRegistration, publicKey: string): Promise<globalThis.PushSubscription> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DOMException(`no answer from the push service in ${SUBSCRIBE_TIMEOUT_MS / 1000} s`, "TimeoutError")),
      SUBSCRIBE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(publicKey) }),
      timeout,
    ]);
  } catch (err) {
    throw new Error(subscribeFailure(err));
  } finally {
    clearTimeout(timer);
  }
}

/** Asks for permission (from a click), subscribes and registers with the server. */
export async function enablePush(): Promise<void> {
  const registration = await registerWorker();
  if (registration === undefined) throw new Error("This browser cannot take push notifications here.");
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site in the browser's settings.");
  const { publicKey } = await api.pushKey();
  await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (subscription === null) {
    subscription = await subscribe(registration, publicKey);
  }
  await api.subscribePush(toWire(subscription));
  await shareToken(registration);
}

/** Unsubscribes this browser and tells the server. */
export async function disablePush(): Promise<void> {
  const subscription = await currentSubscription();
  if (subscription === null) return;
  try {
    await api.unsubscribePush(subscription.endpoint);
  } finally {
    await subscription.unsubscribe();
  }
}
