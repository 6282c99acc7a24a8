// A session in detail: header, then the timeline, the chain graph, the files and the
// terminal, with an inspector beside them. What is selected lives in the URL
// (`#/sessions/<id>?tab=graph&step=…`, `?event=<seq>`, `?tab=files&file=…`), so a link
// opens the same view. The one component the app renders for a selected session.
import type { SessionStatus, StepStatus } from "../../generated";
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { useSessionDetail, useWorkspace } from "../../state/useWorkspace";
import { ReplayPanel } from "../conversation/ReplayPanel";
import { TranscriptPanel } from "../conversation/TranscriptPanel";
import { ChainGraph } from "./ChainGraph";
import { DetailHeader } from "./DetailHeader";
import { EventInspector } from "./EventInspector";
import { FilesPanel } from "./FilesPanel";
import { touchedFiles } from "./model/files";
import { pairToolCalls } from "./model/tools";
import { DETAIL_TABS, detailHref, parseDetailHash, type DetailParams, type DetailTab } from "./model/url";
import { StepInspector } from "./StepInspector";
import { TerminalPanel } from "./TerminalPanel";
import { Timeline } from "./Timeline";
import { useTimeline } from "./useTimeline";
import "./detail.css";

const TAB_LABELS: Record<DetailTab, string> = {
  timeline: "Timeline",
  transcript: "Transcript",
  graph: "Chain graph",
  files: "Files",
  terminal: "Terminal",
};

function subscribeHash(listener: () => void): () => void {
  globalThis.addEventListener("hashchange", listener);
  return () => globalThis.removeEventListener("hashchange", listener);
}

function currentHash(): string {
  return globalThis.location?.hash ?? "";
}

/** Goes to a hash; `replace` keeps the history entry (a selection, not a new page). */
function goTo(href: string, replace: boolean): void {
  if (currentHash() === href) return;
  if (replace) {
    globalThis.history.replaceState(globalThis.history.state, "", href);
    globalThis.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    globalThis.location.hash = href.slice(1);
  }
}

const EMPTY: readonly never[] = [];

/** The main agent's state in the graph: the session's. */
function mainStatusOf(status: SessionStatus): StepStatus {
  switch (status) {
    case "completed":
      return "completed";
    case "failed":
    case "cancelled":
      return "failed";
    case "pending":
      return "pending";
    default:
      return "running";
  }
}

export function SessionDetail(props: { sessionId: string }) {
  const { sessionId } = props;
  useSessionDetail(sessionId);
  const { state, store, notFound } = useWorkspace();
  const session = state.sessions.get(sessionId);
  const detail = state.details.get(sessionId);
  const chains = detail?.chains ?? EMPTY;
  const timeline = useTimeline(sessionId, store.api, detail, state.epoch);
  const { buffer, version } = timeline;
  const [replaying, setReplaying] = useState(false);

  const hash = useSyncExternalStore(subscribeHash, currentHash, () => "");
  const parsed = parseDetailHash(hash);
  const params: DetailParams = parsed !== undefined && parsed.id === sessionId ? parsed.params : { tab: "timeline" };

  const go = useCallback(
    (next: Partial<DetailParams>, replace = false) => {
      const { tab = "timeline", step, event, file } = next;
      goTo(
        detailHref(sessionId, {
          tab,
          ...(step !== undefined ? { step } : {}),
          ...(event !== undefined ? { event } : {}),
          ...(file !== undefined ? { file } : {}),
        }),
        replace,
      );
    },
    [sessionId],
  );
  const openEvent = useCallback((seq: number) => go({ tab: "timeline", event: seq }, true), [go]);
  const openStep = useCallback((stepId: string) => go({ tab: "graph", step: stepId }, params.tab === "graph"), [go, params.tab]);
  const openFile = useCallback((path: string) => go({ tab: "files", file: path }, params.tab === "files"), [go, params.tab]);
  const closeInspector = useCallback(() => go({ tab: params.tab }, true), [go, params.tab]);

  // A linked event not among the loaded ones is read by its seq.
  const { ensureEvent } = timeline;
  useEffect(() => {
    if (params.event !== undefined && buffer.loadedNewest) ensureEvent(params.event);
  }, [params.event, buffer.loadedNewest, ensureEvent, version]);

  // Files touched (from file events and tool calls): only while a view needs them.
  const needFiles = params.tab === "files" || params.step !== undefined;
  const fileChanges = detail?.fileChanges ?? EMPTY;
  const cwd = session?.cwd ?? "";
  const calls = useMemo(() => (needFiles ? pairToolCalls(buffer.events) : []), [needFiles, buffer, version]);
  const touched = useMemo(() => (needFiles ? touchedFiles(fileChanges, calls, cwd) : []), [needFiles, fileChanges, calls, cwd]);

  if (session === undefined) {
    return (
      <article className="detail" data-session-id={sessionId}>
        <p className="empty" role={notFound.has(sessionId) ? "alert" : undefined}>
          {notFound.has(sessionId) ? `There is no session “${sessionId}”.` : "Loading session…"}
        </p>
      </article>
    );
  }

  const selectedEvent = params.event !== undefined ? buffer.get(params.event) : undefined;
  let inspector = null;
  if (params.tab === "timeline" && params.event !== undefined) {
    inspector = (
      <EventInspector
        event={selectedEvent}
        seq={params.event}
        events={buffer.events}
        version={version}
        chains={chains}
        cwd={session.cwd}
        href={detailHref(sessionId, { event: params.event })}
        onClose={closeInspector}
        onOpenStep={openStep}
      />
    );
  } else if (params.tab === "graph" && params.step !== undefined) {
    inspector = (
      <StepInspector
        stepId={params.step}
        chains={chains}
        events={buffer.events}
        version={version}
        files={touched}
        cwd={session.cwd}
        href={detailHref(sessionId, { tab: "graph", step: params.step })}
        onClose={closeInspector}
        onOpenStep={openStep}
        onOpenFile={openFile}
        onOpenEvent={openEvent}
      />
    );
  }

  if (replaying) {
    return (
      <article className="detail" data-session-id={sessionId} aria-label={`Session ${sessionId} replayed`}>
        <ReplayPanel api={store.api} session={session} onClose={() => setReplaying(false)} />
      </article>
    );
  }

  return (
    <article className="detail" data-session-id={sessionId} aria-label={`Session ${sessionId} in detail`}>
      <DetailHeader session={session} chains={chains} />
      <div className="detail-tabs" role="tablist" aria-label="Session views">
        {DETAIL_TABS.map((tab) => (
          <button
            key={tab}
            type="button"
            role="tab"
            id={`detail-tab-${tab}`}
            className="detail-tab"
            aria-selected={params.tab === tab}
            aria-controls="detail-tabpanel"
            data-tab={tab}
            onClick={() => go({ tab })}
          >
            {TAB_LABELS[tab]}
          </button>
        ))}
        <button type="button" className="detail-tab detail-tab--replay" data-testid="replay-open" onClick={() => setReplaying(true)} title="See the session as it stood at any event">
          Replay
        </button>
      </div>
      <div
        className={inspector !== null ? "detail-body detail-body--inspecting" : "detail-body"}
        id="detail-tabpanel"
        role="tabpanel"
        aria-labelledby={`detail-tab-${params.tab}`}
      >
        <div className="detail-body__main">
          {params.tab === "timeline" ? (
            <Timeline data={timeline} total={session.counts.events} cwd={session.cwd} chains={chains} selectedSeq={params.event} onSelect={openEvent} />
          ) : null}
          {params.tab === "transcript" ? (
            <TranscriptPanel
              events={buffer.events}
              version={version}
              chains={chains}
              hasOlder={buffer.hasOlder}
              loadingOlder={timeline.loadingOlder}
              onLoadOlder={timeline.loadOlder}
              onOpenEvent={openEvent}
            />
          ) : null}
          {params.tab === "graph" ? <ChainGraph chains={chains} mainStatus={mainStatusOf(session.status)} selected={params.step} onSelect={openStep} /> : null}
          {params.tab === "files" ? (
            <FilesPanel
              api={store.api}
              session={session}
              chains={chains}
              touched={touched}
              calls={calls}
              selected={params.file}
              onOpenFile={openFile}
              onOpenStep={openStep}
            />
          ) : null}
          {params.tab === "terminal" ? <TerminalPanel events={buffer.events} version={version} chains={chains} onOpenStep={openStep} /> : null}
        </div>
        {inspector !== null ? <div className="detail-body__side">{inspector}</div> : null}
      </div>
    </article>
  );
}
