// Sign-in, kept small: the server asks for `Authorization: Bearer <token>` when tokens
// are configured and answers 401 otherwise. The token lives in sessionStorage (this tab,
// until it closes), goes on every REST call (api.ts) and, for the socket, travels as a
// WebSocket subprotocol, since browsers cannot set headers on a WebSocket.

const STORAGE_KEY = "chainwatch.token";

export interface AuthSnapshot {
  /** The token in use, if any. */
  readonly token: string | undefined;
  /** The server refused a request: show the sign-in prompt. */
  readonly required: boolean;
  /** The server's message with its 401, for the prompt. */
  readonly message: string | undefined;
}

let snapshot: AuthSnapshot = { token: load(), required: false, message: undefined };
const listeners = new Set<() => void>();

function load(): string | undefined {
  try {
    return globalThis.sessionStorage?.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined; // storage disabled: the token lives as long as the page
  }
}

function set(next: AuthSnapshot): void {
  snapshot = next;
  for (const listener of [...listeners]) listener();
}

export function readToken(): string | undefined {
  return snapshot.token;
}

/** A 401 came back: ask the person for a token (again). */
export function requireSignIn(message?: string): void {
  if (snapshot.required && snapshot.message === message) return;
  set({ ...snapshot, required: true, message });
}

/** Stores the token for this tab and closes the prompt. */
export function signIn(token: string): void {
  const trimmed = token.trim();
  try {
    globalThis.sessionStorage?.setItem(STORAGE_KEY, trimmed);
  } catch {
    // kept in memory only
  }
  set({ token: trimmed, required: false, message: undefined });
}

/** Forgets the token. */
export function signOut(): void {
  try {
    globalThis.sessionStorage?.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
  set({ token: undefined, required: false, message: undefined });
}

export const authStore = {
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  getSnapshot(): AuthSnapshot {
    return snapshot;
  },
};

/**
 * The socket's subprotocols: `chainwatch`, and the token as `bearer.<token>` when there
 * is one (the server picks `chainwatch`; tokens are A-Z a-z 0-9 - _ . ~, all valid in a
 * subprotocol name).
 */
export function socketProtocols(token: string | undefined): string[] {
  return token === undefined || token === "" ? ["chainwatch"] : ["chainwatch", `bearer.${token}`];
}
