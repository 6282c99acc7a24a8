// The app's routes live in the URL hash (`#/sessions/<id>`), so a reload, a bookmark
// and the back button all work, with or without the server's index.html fallback.
import { useSyncExternalStore } from "react";

export type Route =
  | { readonly name: "sessions" }
  | { readonly name: "needs-you" }
  | { readonly name: "history" }
  | { readonly name: "session"; readonly id: string };

export function parseRoute(hash: string): Route {
  // A query after the path (`#/sessions/<id>?step=…`) belongs to the view, not the route.
  const path = hash.replace(/^#/, "").replace(/\?.*$/, "").replace(/^\/+/, "");
  const [head = "", ...rest] = path.split("/");
  switch (head) {
    case "needs-you":
      return { name: "needs-you" };
    case "history":
      return { name: "history" };
    case "sessions": {
      const id = rest.join("/");
      if (id !== "") {
        try {
          return { name: "session", id: decodeURIComponent(id) };
        } catch {
          return { name: "sessions" };
        }
      }
      return { name: "sessions" };
    }
    default:
      return { name: "sessions" };
  }
}

export function routeHref(route: Route): string {
  switch (route.name) {
    case "sessions":
      return "#/";
    case "needs-you":
      return "#/needs-you";
    case "history":
      return "#/history";
    case "session":
      return `#/sessions/${encodeURIComponent(route.id)}`;
  }
}

export function sessionHref(id: string): string {
  return routeHref({ name: "session", id });
}

export function navigate(route: Route): void {
  globalThis.location.hash = routeHref(route).slice(1);
}

function subscribe(listener: () => void): () => void {
  globalThis.addEventListener("hashchange", listener);
  return () => globalThis.removeEventListener("hashchange", listener);
}

function currentHash(): string {
  return globalThis.location?.hash ?? "";
}

/** The current route, following the hash. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, currentHash, () => "");
  return parseRoute(hash);
}
