// One tool call, rendered for people: Bash (command, output, exit state), Edit and
// MultiEdit (a diff), Write (path and a preview), Read/Grep/Glob (what was looked for and
// found), Task/Agent (the subagent's step), AskUserQuestion (questions and the answer),
// anything else as JSON. A failure stands out.
import { stepName } from "../../lib/names";
import type { ReactNode } from "react";
import type { Chain } from "../../generated";
import { Markdown } from "../text/Markdown";
import { AnsiText } from "./AnsiText";
import { formatStepDuration } from "./model/graph";
import { shortenPaths } from "./model/rows";
import { hasContent, prettyJson } from "./model/json";
import { describeTool, preview, type DiffLine, type EditHunk, type ToolCall } from "./model/tools";

export function JsonBlock(props: { value: unknown; label?: string }) {
  const { text, cut } = prettyJson(props.value);
  return (
    <div className="json-block">
      {props.label !== undefined ? <div className="json-block__label">{props.label}</div> : null}
      <pre className="json">{text}</pre>
      {cut ? <p className="muted">(cut: too long to show whole)</p> : null}
    </div>
  );
}

function DiffLines(props: { lines: readonly DiffLine[] }) {
  return (
    <pre className="diff" aria-label="Diff">
      {props.lines.map((line, i) => (
        <span key={i} className={`diff__line diff__line--${line.op}`}>
          <span className="diff__sign" aria-hidden="true">
            {line.op === "add" ? "+" : line.op === "del" ? "−" : " "}
          </span>
          {line.text}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}

export function DiffView(props: { hunks: readonly EditHunk[] }) {
  return (
    <div className="diff-view">
      {props.hunks.map((h, i) => (
        <div key={i} className="diff-view__hunk">
          {props.hunks.length > 1 ? (
            <div className="muted">
              Edit {i + 1} of {props.hunks.length}
              {h.replaceAll ? " · all occurrences" : ""}
            </div>
          ) : h.replaceAll ? (
            <div className="muted">all occurrences</div>
          ) : null}
          <DiffLines lines={h.lines} />
        </div>
      ))}
    </div>
  );
}

function Preview(props: { text: string; className?: string }) {
  const p = preview(props.text);
  return (
    <>
      <pre className={`preview ${props.className ?? ""}`}>{p.text}</pre>
      {p.cut ? <p className="muted">(first {p.text.length.toLocaleString()} characters of {props.text.length.toLocaleString()})</p> : null}
    </>
  );
}

function Field(props: { label: string; children: ReactNode }) {
  return (
    <div className="field">
      <span className="field__label">{props.label}</span>
      <span className="field__value">{props.children}</span>
    </div>
  );
}

const EXIT_LABEL = { running: "running", ok: "exit 0", failed: "failed", interrupted: "interrupted" } as const;

export interface ToolCallViewProps {
  readonly call: ToolCall;
  /** The session's chains, to link a Task/Agent call to its step. */
  readonly chains?: readonly Chain[];
  /** The session's cwd: paths inside it are shown relative to it. */
  readonly cwd?: string;
  readonly onOpenStep?: (stepId: string) => void;
}

export function ToolCallView(props: ToolCallViewProps) {
  const { call, chains, cwd, onOpenStep } = props;
  const short = (path: string) => shortenPaths(path, cwd);
  const view = describeTool(call);
  const failed = call.status === "failed";
  let body: ReactNode;
  switch (view.kind) {
    case "bash":
      body = (
        <>
          {view.description !== undefined ? <p className="muted">{view.description}</p> : null}
          <pre className="bash-command">
            <span className="bash-command__prompt" aria-hidden="true">
              ${" "}
            </span>
            {view.command}
          </pre>
          <div className="bash-exit">
            <span className={`exit exit--${view.exit}`}>
              {view.exitCode !== undefined && view.exit !== "ok" ? `exit ${view.exitCode}` : EXIT_LABEL[view.exit]}
            </span>
            {view.background ? <span className="muted"> · in the background</span> : null}
          </div>
          {view.stdout !== "" ? <AnsiText text={view.stdout} className="terminal-out" /> : null}
          {view.stderr !== "" ? <AnsiText text={view.stderr} className="terminal-out terminal-out--stderr" /> : null}
          {view.stdout === "" && view.stderr === "" && view.exit !== "running" ? <p className="muted">(no output)</p> : null}
        </>
      );
      break;
    case "edit":
      body = (
        <>
          <Field label="File">
            <code>{short(view.path)}</code>
          </Field>
          <DiffView hunks={view.hunks} />
        </>
      );
      break;
    case "write":
      body = (
        <>
          <Field label="File">
            <code>{short(view.path)}</code>
            {view.created !== undefined ? <span className="muted"> · {view.created ? "created" : "overwritten"}</span> : null}
          </Field>
          <Field label="Lines">{view.lines.toLocaleString()}</Field>
          <Preview text={view.content} />
        </>
      );
      break;
    case "read":
      body = (
        <>
          <Field label="File">
            <code>{short(view.path)}</code>
          </Field>
          {view.offset !== undefined || view.limit !== undefined ? (
            <Field label="Range">
              {view.offset !== undefined ? `from line ${view.offset}` : "from the start"}
              {view.limit !== undefined ? `, ${view.limit} lines` : ""}
            </Field>
          ) : null}
          {view.numLines !== undefined ? (
            <Field label="Read">
              {view.numLines.toLocaleString()} lines{view.totalLines !== undefined ? ` of ${view.totalLines.toLocaleString()}` : ""}
            </Field>
          ) : null}
          {view.content !== undefined ? <Preview text={view.content} /> : null}
        </>
      );
      break;
    case "search":
      body = (
        <>
          <Field label={view.tool === "Glob" ? "Pattern" : view.tool === "LS" ? "Path" : "Looked for"}>
            <code>{view.pattern}</code>
          </Field>
          {view.path !== undefined ? (
            <Field label="In">
              <code>{short(view.path)}</code>
            </Field>
          ) : null}
          {view.glob !== undefined ? (
            <Field label="Files">
              <code>{view.glob}</code>
            </Field>
          ) : null}
          {call.status !== "running" ? (
            <Field label="Found">
              {view.count !== undefined ? `${view.count.toLocaleString()} ${view.mode === "content" ? "matches" : "files"}` : "—"}
              {view.truncated ? " (truncated)" : ""}
            </Field>
          ) : null}
          {view.files.length > 0 ? (
            <ul className="found-files">
              {view.files.slice(0, 100).map((f) => (
                <li key={f}>
                  <code>{short(f)}</code>
                </li>
              ))}
              {view.files.length > 100 ? <li className="muted">… {view.files.length - 100} more</li> : null}
            </ul>
          ) : null}
          {view.content !== undefined ? <Preview text={view.content} /> : null}
        </>
      );
      break;
    case "task": {
      const step =
        call.toolUseId !== undefined
          ? (chains ?? []).flatMap((c) => c.steps).find((s) => s.toolUseId === call.toolUseId)
          : undefined;
      body = (
        <>
          {view.description !== undefined ? <Field label="Task">{view.description}</Field> : null}
          {view.agentType !== undefined ? <Field label="Agent">{view.agentType}</Field> : null}
          {step !== undefined ? (
            <Field label="Step">
              <button type="button" className="link-button" onClick={() => onOpenStep?.(step.id)}>
                {stepName(step, chains ?? []).full} ({step.status})
              </button>
            </Field>
          ) : null}
          {view.prompt !== undefined ? <Preview text={view.prompt} /> : null}
          {view.result !== undefined ? (
            <>
              <div className="json-block__label">Result</div>
              <Markdown text={view.result} className="md--block" />
            </>
          ) : null}
        </>
      );
      break;
    }
    case "question":
      body = (
        <ol className="questions">
          {view.questions.map((q, i) => (
            <li key={i} className="question">
              {q.header !== undefined ? <span className="tag">{q.header}</span> : null}
              <p className="question__text">{q.question}</p>
              {q.options.length > 0 ? (
                <ul className="question__options">
                  {q.options.map((o) => {
                    const chosen = q.answer !== undefined && q.answer.split(", ").includes(o.label);
                    return (
                      <li key={o.label} className={chosen ? "question__option question__option--chosen" : "question__option"}>
                        {o.label}
                        {o.description !== undefined ? <span className="muted"> — {o.description}</span> : null}
                      </li>
                    );
                  })}
                </ul>
              ) : null}
              <p className="question__answer">
                {q.answer !== undefined ? (
                  <>
                    Answer: <strong>{q.answer}</strong>
                  </>
                ) : (
                  <span className="muted">{call.status === "running" ? "waiting for an answer" : "no answer recorded"}</span>
                )}
              </p>
            </li>
          ))}
        </ol>
      );
      break;
    case "todo":
      body = (
        <ul className="todos" aria-label="Todo list" data-testid="todo-list">
          {view.todos.map((t, i) => (
            <li key={i} className={`todo todo--${t.status}`} data-status={t.status}>
              <span className="todo__box" aria-hidden="true">
                {t.status === "completed" ? "☑" : t.status === "in_progress" ? "◐" : "☐"}
              </span>
              <span className="todo__text">{t.status === "in_progress" && t.activeForm !== undefined ? t.activeForm : t.content}</span>
              <span className="visually-hidden">{t.status.replace("_", " ")}</span>
            </li>
          ))}
        </ul>
      );
      break;
    case "json":
      body = (
        <>
          {hasContent(call.input) ? <JsonBlock label="Input" value={call.input} /> : null}
          {hasContent(call.response) ? <JsonBlock label="Response" value={call.response} /> : null}
        </>
      );
      break;
  }

  return (
    <div
      className={`tool-call tool-call--${view.kind}${failed ? " tool-call--failed" : ""}`}
      data-tool={call.toolName}
      data-status={call.status}
      data-tool-use-id={call.toolUseId}
    >
      <div className="tool-call__head">
        <span className="tool-call__name">{call.toolName}</span>
        <span className={`tool-status tool-status--${call.status}`}>{call.status}</span>
        {call.durationMs !== undefined ? <span className="muted">{formatStepDuration(call.durationMs)}</span> : null}
      </div>
      {failed && call.error !== undefined ? (
        <p className="tool-call__error" role="alert">
          {call.error}
        </p>
      ) : null}
      {body}
    </div>
  );
}
