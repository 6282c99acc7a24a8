// Toasts: short messages in a corner of the page, for what just happened (a new
// question, a failure, a refused answer). A tiny external store for React.
import { useSyncExternalStore } from "react";

export type ToastTone = "info" | "attention" | "error";

export interface Toast {
  readonly id: number;
  readonly key: string | undefined;
  readonly tone: ToastTone;
  readonly title: string;
  readonly body: string | undefined;
  /** Where clicking it goes (a hash route), if anywhere. */
  readonly href: string | undefined;
  /** What to do about it, when there is something (a link). */
  readonly action: ToastAction | undefined;
  /** A permission request it can answer in place (Allow / Deny), when it is one. */
  readonly decide: ToastDecision | undefined;
}

/** The permission request a toast answers with its Allow and Deny buttons. */
export interface ToastDecision {
  readonly sessionId: string;
  readonly requestId: string;
}

/** A toast's action: a labelled link (to where the item can be answered). */
export interface ToastAction {
  readonly label: string;
  readonly href: string;
}

export interface ToastInput {
  /** One toast per key at a time (a repeat refreshes it). */
  key?: string;
  tone: ToastTone;
  title: string;
  body?: string;
  href?: string;
  action?: ToastAction;
  decide?: ToastDecision;
  /** Dismissed after this long (default 8 s; errors 12 s; one that answers 60 s). */
  ttlMs?: number;
}

const MAX_TOASTS = 5;
let toasts: readonly Toast[] = [];
let nextId = 1;
const timers = new Map<number, ReturnType<typeof setTimeout>>();
const listeners = new Set<() => void>();

function emit(): void {
  for (const listener of [...listeners]) listener();
}

export function pushToast(input: ToastInput): number {
  const id = nextId++;
  const toast: Toast = {
    id,
    key: input.key,
    tone: input.tone,
    title: input.title,
    body: input.body,
    href: input.href,
    action: input.action,
    decide: input.decide,
  };
  const kept = toasts.filter((t) => input.key === undefined || t.key !== input.key);
  for (const t of toasts) if (!kept.includes(t)) clearTimer(t.id);
  const next = [...kept, toast];
  while (next.length > MAX_TOASTS) {
    const dropped = next.shift();
    if (dropped !== undefined) clearTimer(dropped.id);
  }
  toasts = next;
  // A toast with buttons stays long enough to be used (it goes at once when settled).
  const ttl = input.ttlMs ?? (input.decide !== undefined ? 60_000 : input.tone === "error" ? 12_000 : 8_000);
  timers.set(
    id,
    setTimeout(() => dismissToast(id), ttl),
  );
  emit();
  return id;
}

function clearTimer(id: number): void {
  clearTimeout(timers.get(id));
  timers.delete(id);
}

export function dismissToast(id: number): void {
  clearTimer(id);
  const next = toasts.filter((t) => t.id !== id);
  if (next.length === toasts.length) return;
  toasts = next;
  emit();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Dismisses the toasts whose key `settled` says is settled (answered, decided, gone). */
export function withdrawToasts(settled: (key: string) => boolean): void {
  const gone = toasts.filter((t) => t.key !== undefined && settled(t.key));
  if (gone.length === 0) return;
  for (const t of gone) clearTimer(t.id);
  toasts = toasts.filter((t) => !gone.includes(t));
  emit();
}

function getSnapshot(): readonly Toast[] {
  return toasts;
}

export function useToasts(): readonly Toast[] {
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
}
