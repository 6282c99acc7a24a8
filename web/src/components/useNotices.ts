// Turns notices (new questions, permission requests, failures) into toasts and, when
// the person allowed it, desktop notifications; and keeps the tab title counting
// what waits.
import { useEffect } from "react";
import { notifyDesktop } from "../lib/desktop";
import { sessionHref } from "../lib/route";
import { pushToast, withdrawToasts, type ToastTone } from "../lib/toasts";
import { isSettled, noticesFor, type NoticeKind } from "../state/notices";
import type { WorkspaceStore } from "../state/store";

function tone(kind: NoticeKind): ToastTone {
  switch (kind) {
    case "question":
    case "permission":
      return "attention";
    case "failure":
      return "error";
  }
}

export function useNotices(store: WorkspaceStore): void {
  useEffect(
    () =>
      store.onEvents((applied, state) => {
        for (const notice of noticesFor(applied, state)) {
          const href = sessionHref(notice.sessionId);
          const action =
            notice.kind === "permission"
              ? { label: "Details", href: "#/needs-you" }
              : notice.kind === "question"
                ? { label: "Answer", href: "#/needs-you" }
                : undefined;
          pushToast({
            key: notice.key,
            tone: tone(notice.kind),
            title: notice.title,
            body: notice.body,
            href,
            ...(action !== undefined ? { action } : {}),
            ...(notice.requestId !== undefined && notice.kind === "permission" ? { decide: { sessionId: notice.sessionId, requestId: notice.requestId } } : {}),
          });
          notifyDesktop({ tag: notice.key, title: notice.title, body: notice.body, href });
        }
        // Answered or decided anywhere (another tab, the terminal): the toast goes.
        withdrawToasts((key) => isSettled(key, state));
      }),
    [store],
  );
}

export function useTitleCount(waiting: number): void {
  useEffect(() => {
    document.title = waiting > 0 ? `(${waiting}) Chainwatch` : "Chainwatch";
  }, [waiting]);
}
