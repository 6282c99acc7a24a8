// Names a person recognises. A session is called by what it is about: its title, else
// its first prompt, else its folder (the id only when nothing else is known). A step
// is called by its task's description and its agent type: a subagent step, named by
// Claude Code after its type ("general-purpose"), takes the description of the Task
// call that spawned it. Every view (list, header, graph, timeline, terminal, files)
// names things through these functions, so one session or step reads the same
// everywhere.
import type { Chain, ChainStep, Session, SessionId } from "../generated";

/** Longest name shown before it is cut (the full text is in the element's title). */
export const NAME_MAX = 90;

function firstLine(text: string, max = NAME_MAX): string {
  const line = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l !== "");
  if (line === undefined) return "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The folder a path ends in. */
export function folderOf(cwd: string): string | undefined {
  return cwd.split(/[\\/]/).filter((p) => p !== "").pop();
}

/** A session's name: title, else first prompt, else folder, else id. */
export function sessionTitle(session: Pick<Session, "title" | "firstPrompt" | "cwd"> | undefined, id: SessionId): string {
  const title = firstLine(session?.title ?? "");
  if (title !== "") return title;
  const prompt = firstLine(session?.firstPrompt ?? "");
  if (prompt !== "") return prompt;
  return folderOf(session?.cwd ?? "") ?? id;
}

/** A step's names for people. */
export interface StepName {
  /** What it does: the task's description (or the step's own name). */
  readonly title: string;
  /** Who does it: the agent type, when known ("Explore", "general-purpose"). */
  readonly agent?: string;
  /** Both, for one line: "Find flaky tests · Explore". */
  readonly full: string;
}

function findIn(chains: readonly Chain[], stepId: string): ChainStep | undefined {
  for (const chain of chains) for (const step of chain.steps) if (step.id === stepId) return step;
  return undefined;
}

function descriptionOf(step: ChainStep): string | undefined {
  const input = step.input;
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const d = (input as Record<string, unknown>)["description"];
    if (typeof d === "string" && d.trim() !== "") return d.trim();
  }
  return undefined;
}

/** The names of a step, looking up the task that spawned a subagent. */
export function stepName(step: ChainStep, chains: readonly Chain[]): StepName {
  const agent = step.agentType;
  let title = descriptionOf(step) ?? step.name;
  if (step.kind === "subagent" && step.parentStepId !== undefined) {
    const parent = findIn(chains, step.parentStepId);
    if (parent !== undefined) title = descriptionOf(parent) ?? parent.name;
  }
  title = firstLine(title) || step.id;
  const full = agent !== undefined && agent !== title ? `${title} · ${agent}` : title;
  return agent !== undefined ? { title, agent, full } : { title, full };
}

/** The name of the step `stepId` (the main agent when undefined; the id when unknown). */
export function stepNameById(chains: readonly Chain[], stepId: string | undefined): StepName {
  if (stepId === undefined) return { title: "main agent", full: "main agent" };
  const step = findIn(chains, stepId);
  return step !== undefined ? stepName(step, chains) : { title: stepId, full: stepId };
}
