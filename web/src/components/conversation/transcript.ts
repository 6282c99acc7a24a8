// The transcript's model: a session's events read as the conversation. Prompts, the
// assistant's messages and the tool calls between them (each call folded into one item
// with its outcome), questions and answers; what a subagent did sits under it (its
// `stepId`), indented by its depth in the step tree. Each prompt carries the tokens and
// cost of the requests that answered it. Pure: the view renders these items.
import type { Chain, TokenUsage, WorkspaceEvent } from "../../generated";

export type TranscriptItem =
  | {
      readonly kind: "prompt";
      readonly seq: number;
      readonly text: string;
      readonly timestamp: string;
      /** Cost and tokens of the requests until the next prompt. */
      readonly costUsd: number;
      readonly tokens: number;
      readonly depth: number;
    }
  | {
      readonly kind: "assistant";
      readonly seq: number;
      readonly text: string;
      readonly timestamp: string;
      readonly model?: string;
      readonly agent?: string;
      readonly depth: number;
    }
  | {
      readonly kind: "tool";
      readonly seq: number;
      readonly name: string;
      readonly summary: string;
      readonly status: "started" | "succeeded" | "failed";
      readonly error?: string;
      readonly agent?: string;
      readonly depth: number;
    }
  | { readonly kind: "question" | "answer" | "error"; readonly seq: number; readonly text: string; readonly depth: number };

interface StepInfo {
  readonly name: string;
  readonly depth: number;
}

/** Each step's name and nesting depth (a subagent under the Agent call that started it). */
function stepInfo(chains: readonly Chain[]): Map<string, StepInfo> {
  const parents = new Map<string, string | undefined>();
  const names = new Map<string, string>();
  for (const chain of chains) {
    for (const step of chain.steps) {
      parents.set(step.id, step.parentStepId);
      names.set(step.id, step.agentType ?? step.name);
    }
  }
  const out = new Map<string, StepInfo>();
  for (const [id, name] of names) {
    let depth = 1;
    let parent = parents.get(id);
    const seen = new Set([id]);
    while (parent !== undefined && !seen.has(parent)) {
      seen.add(parent);
      // A Task call and the subagent it started are one level, not two.
      if (!id.startsWith("agent-") || !parent.startsWith("task-")) depth += 1;
      parent = parents.get(parent);
    }
    out.set(id, { name, depth: Math.min(depth, 4) });
  }
  return out;
}

function summarize(input: unknown): string {
  if (input === null || typeof input !== "object") return input === undefined ? "" : JSON.stringify(input);
  const record = input as Record<string, unknown>;
  for (const key of ["command", "file_path", "path", "pattern", "url", "description", "prompt"]) {
    const value = record[key];
    if (typeof value === "string") return value;
  }
  return JSON.stringify(input);
}

function usageTokens(u: TokenUsage | undefined): number {
  return u === undefined ? 0 : u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheCreationTokens;
}

/** The transcript of events in seq order. */
export function buildTranscript(events: readonly WorkspaceEvent[], chains: readonly Chain[]): TranscriptItem[] {
  const steps = stepInfo(chains);
  const where = (stepId: string | undefined) => {
    const info = stepId !== undefined ? steps.get(stepId) : undefined;
    return info === undefined ? { depth: 0 } : { depth: info.depth, agent: info.name };
  };
  const items: TranscriptItem[] = [];
  const calls = new Map<string, number>();
  let prompt: number | undefined;
  // Which prompt item a Claude Code promptId belongs to (from its messages).
  const byPromptId = new Map<string, number>();
  for (const event of events) {
    switch (event.type) {
      case "prompt:submitted":
        prompt = items.length;
        items.push({ kind: "prompt", seq: event.seq, text: event.prompt, timestamp: event.timestamp, costUsd: 0, tokens: 0, depth: 0 });
        break;
      case "message:assistant": {
        if (prompt !== undefined && event.promptId !== undefined && !byPromptId.has(event.promptId)) {
          byPromptId.set(event.promptId, prompt);
        }
        if (prompt !== undefined && event.superseded !== true) {
          const p = items[prompt];
          if (p !== undefined && p.kind === "prompt") {
            items[prompt] = { ...p, costUsd: p.costUsd + (event.costUsd ?? 0), tokens: p.tokens + usageTokens(event.usage) };
          }
        }
        if (event.text.trim() === "") break;
        items.push({
          kind: "assistant",
          seq: event.seq,
          text: event.text,
          timestamp: event.timestamp,
          ...(event.model !== undefined ? { model: event.model } : {}),
          ...where(event.stepId),
        });
        break;
      }
      case "usage:reported": {
        // Telemetry of a prompt: it replaces that prompt's estimate (projection.rs).
        const at = event.promptId !== undefined ? (byPromptId.get(event.promptId) ?? prompt) : prompt;
        const p = at !== undefined ? items[at] : undefined;
        if (at !== undefined && p !== undefined && p.kind === "prompt") {
          const r = event.replaces;
          const back = r === undefined ? { cost: 0, tokens: 0 } : { cost: r.costUsd, tokens: r.inputTokens + r.outputTokens + r.cacheReadTokens + r.cacheCreationTokens };
          items[at] = {
            ...p,
            costUsd: Math.max(0, p.costUsd - back.cost) + (event.costUsd ?? 0),
            tokens: Math.max(0, p.tokens - back.tokens) + usageTokens(event.usage),
          };
        }
        break;
      }
      case "tool:used": {
        const at = event.toolUseId !== undefined ? calls.get(event.toolUseId) : undefined;
        const previous = at !== undefined ? items[at] : undefined;
        if (previous !== undefined && previous.kind === "tool") {
          items[at as number] = {
            ...previous,
            status: event.status,
            ...(event.error !== undefined ? { error: event.error } : {}),
          };
          break;
        }
        if (event.toolUseId !== undefined) calls.set(event.toolUseId, items.length);
        items.push({
          kind: "tool",
          seq: event.seq,
          name: event.toolName,
          summary: summarize(event.input),
          status: event.status,
          ...(event.error !== undefined ? { error: event.error } : {}),
          ...where(event.stepId),
        });
        break;
      }
      case "interaction:awaiting-input":
        items.push({ kind: "question", seq: event.seq, text: event.prompt, depth: 0 });
        break;
      case "interaction:input-received":
        items.push({ kind: "answer", seq: event.seq, text: event.text, depth: 0 });
        break;
      case "error:occurred":
        items.push({ kind: "error", seq: event.seq, text: event.message, ...where(event.stepId) });
        break;
      case "step:failed":
        items.push({ kind: "error", seq: event.seq, text: event.error, ...where(event.stepId) });
        break;
      case "session:started":
      case "session:updated":
      case "session:ended":
      case "session:pruned":
      case "chain:compiled":
      case "chain:started":
      case "chain:completed":
      case "step:spawned":
      case "step:started":
      case "step:completed":
      case "permission:requested":
      case "permission:decided":
      case "command:issued":
      case "command:acknowledged":
      case "file:created":
      case "file:modified":
      case "file:deleted":
      case "terminal:output":
      case "agent:notification":
      case "agent:event":
        break;
      default: {
        const _never: never = event;
        void _never;
      }
    }
  }
  return items;
}
