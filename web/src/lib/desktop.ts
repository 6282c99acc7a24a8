// Desktop notifications (the browser's Notification API), only once the person allowed
// them: permission is asked from a click, never on load. Shown when the page is not in
// front; a notification's tag makes several open tabs show one, not one each.
import { useCallback, useSyncExternalStore } from "react";

export type DesktopPermission = NotificationPermission | "unsupported";

const MUTE_KEY = "chainwatch.desktopMuted";
const listeners = new Set<() => void>();

function supported(): boolean {
  return typeof globalThis.Notification === "function";
}

function permission(): DesktopPermission {
  return supported() ? globalThis.Notification.permission : "unsupported";
}

function muted(): boolean {
  try {
    return globalThis.localStorage?.getItem(MUTE_KEY) === "1";
  } catch {
    return false;
  }
}

function emit(): void {
  for (const listener of [...listeners]) listener();
}

/** `granted` and not muted: notifications will be shown. */
export function desktopEnabled(): boolean {
  return permission() === "granted" && !muted();
}

export interface DesktopAlert {
  tag: string;
  title: string;
  body: string;
  /** Where clicking it goes (a hash route). */
  href?: string;
}

/** Shows a desktop notification when allowed and the page is not what the person looks at. */
export function notifyDesktop(alert: DesktopAlert): void {
  if (!desktopEnabled()) return;
  if (typeof document !== "undefined" && document.visibilityState === "visible" && document.hasFocus()) return;
  try {
    const n = new globalThis.Notification(alert.title, { body: alert.body, tag: alert.tag });
    n.onclick = () => {
      globalThis.focus();
      if (alert.href !== undefined) globalThis.location.hash = alert.href.slice(1);
      n.close();
    };
  } catch {
    // Some browsers only allow notifications from a service worker: the toast remains.
  }
}

function snapshotKey(): string {
  return `${permission()}:${muted() ? "muted" : "on"}`;
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The permission state and the actions of the desktop-alerts control. */
export function useDesktopAlerts(): {
  permission: DesktopPermission;
  muted: boolean;
  enable: () => void;
  setMuted: (muted: boolean) => void;
} {
  const key = useSyncExternalStore(subscribe, snapshotKey, () => "unsupported:on");
  const [perm, mute] = key.split(":") as [DesktopPermission, string];
  const enable = useCallback(() => {
    if (!supported()) return;
    // Called from a click: the browser shows its prompt.
    void globalThis.Notification.requestPermission().then(emit, emit);
  }, []);
  const setMuted = useCallback((value: boolean) => {
    try {
      if (value) globalThis.localStorage?.setItem(MUTE_KEY, "1");
      else globalThis.localStorage?.removeItem(MUTE_KEY);
    } catch {
      // not remembered
    }
    emit();
  }, []);
  return { permission: perm, muted: mute === "muted", enable, setMuted };
}
