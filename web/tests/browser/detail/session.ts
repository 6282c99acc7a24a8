// A realistic Claude Code session, written from the hooks reference
// (/work/shared/reference/claude-code-hooks.md) the way `chainwatch hook` maps hook
// payloads to events: PreToolUse/PostToolUse(Failure) become `tool:used` (Bash output
// also `terminal:output`), an Agent call becomes a `task` step of the main chain, a
// SubagentStart/Stop a `subagent` step under it, and the subagent's tool calls carry its
// step id. Tool inputs and responses have Claude Code's shapes.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type NewEvent = Record<string, unknown> & { type: string; sessionId: string };

/** Files the session's cwd holds on this host (the Files tab reads them). */
export const CWD_FILES: Record<string, string> = {
  "README.md": "# shop\n\nA small shop with a login.\n",
  "package.json": '{ "name": "shop", "scripts": { "test": "vitest run" } }\n',
  "src/login.ts":
    'import { request } from "./http";\n\nexport async function login(user: string, password: string) {\n  const res = await request("/login", { user, password });\n  return res.ok;\n}\n',
  "src/http.ts": "export async function request(path: string, body: unknown) {\n  return fetch(path, { method: \"POST\", body: JSON.stringify(body) });\n}\n",
  "src/auth.ts": "export const TOKEN_TTL = 3600;\n",
  "src/retry.ts": "export const ATTEMPTS = 1;\nexport const DELAY_MS = 0;\n",
  "test/login.test.ts": 'import { login } from "../src/login";\n\ntest("login", async () => {\n  expect(await login("ada", "pw")).toBe(true);\n});\n',
};

export function writeCwd(dir: string): void {
  for (const [path, content] of Object.entries(CWD_FILES)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

export interface RealisticSession {
  readonly id: string;
  readonly cwd: string;
  readonly events: NewEvent[];
  /** What the header must show. */
  readonly expected: { prompts: number; toolCalls: number; failures: number; subagents: number };
  readonly tasks: { a: string; b: string; c: string };
  readonly agents: { a: string; b: string; c: string };
  /** The Edit whose diff is checked: its tool_use_id, and a line it adds. */
  readonly edit: { toolUseId: string; added: string; removed: string };
  /** A file the third subagent's step touched. */
  readonly stepFile: { stepId: string; path: string };
}

const OLD_LOGIN = '  const res = await request("/login", { user, password });\n  return res.ok;';
const NEW_LOGIN =
  '  const res = await withRetry(() => request("/login", { user, password }), { attempts: 3 });\n  return res.ok;';

export function realisticSession(id: string, cwd: string, startMs = Date.now() - 9 * 60_000): RealisticSession {
  const events: NewEvent[] = [];
  let t = startMs;
  let n = 0;
  const at = (ms = 1500) => {
    t += ms;
    return new Date(t).toISOString();
  };
  const push = (type: string, fields: Record<string, unknown> = {}, ms?: number) => {
    events.push({ sessionId: id, type, timestamp: at(ms), ...fields });
  };
  const abs = (p: string) => `${cwd}/${p}`;
  const toolUse = () => `toolu_01${(++n).toString().padStart(4, "0")}Xq${id.slice(0, 4)}`;

  /** A PreToolUse/PostToolUse pair; Bash also reports its output as terminal output. */
  const tool = (
    toolName: string,
    input: Record<string, unknown>,
    outcome: { response?: unknown; error?: string },
    stepId?: string,
    durationMs = 900,
  ): string => {
    const toolUseId = toolUse();
    const step = stepId !== undefined ? { stepId } : {};
    push("tool:used", { toolName, toolUseId, status: "started", input, ...step }, 400);
    const failed = outcome.error !== undefined;
    push(
      "tool:used",
      {
        toolName,
        toolUseId,
        status: failed ? "failed" : "succeeded",
        input,
        ...(outcome.response !== undefined ? { response: outcome.response } : {}),
        ...(failed ? { error: outcome.error } : {}),
        durationMs,
        ...step,
      },
      durationMs,
    );
    if (toolName === "Bash") {
      const r = (outcome.response ?? {}) as { stdout?: string; stderr?: string };
      if (r.stdout) push("terminal:output", { text: r.stdout, stream: "stdout", toolUseId, ...step }, 5);
      if (r.stderr) push("terminal:output", { text: r.stderr, stream: "stderr", toolUseId, ...step }, 5);
      if (failed) push("terminal:output", { text: outcome.error, stream: "stderr", toolUseId, ...step }, 5);
    }
    return toolUseId;
  };

  push(
    "session:started",
    {
      cwd,
      hostname: "devbox-7",
      platform: "linux",
      user: "ada",
      model: "claude-opus-4-1",
      source: "hook",
      title: "Fix the flaky login test",
    },
    0,
  );
  push("prompt:submitted", { prompt: "The login test fails about one run in five. Find out why and fix it; add retries where it makes sense." });
  tool("Read", { file_path: abs("src/login.ts") }, {
    response: {
      type: "text",
      file: { filePath: abs("src/login.ts"), content: CWD_FILES["src/login.ts"], numLines: 6, startLine: 1, totalLines: 6 },
    },
  });
  tool("Grep", { pattern: "retry|attempts", path: cwd, output_mode: "files_with_matches" }, {
    response: { mode: "files_with_matches", filenames: [abs("src/retry.ts")], numFiles: 1 },
  });
  tool("Glob", { pattern: "**/*.test.ts" }, {
    response: { filenames: [abs("test/login.test.ts")], durationMs: 12, numFiles: 1, truncated: false },
  });
  tool(
    "Bash",
    { command: "npm test -- login", description: "Run the login test" },
    {
      response: {
        stdout: "\u001b[1m\u001b[31m FAIL \u001b[39m\u001b[22m test/login.test.ts\n  \u001b[31m×\u001b[39m login \u001b[2m(5003 ms)\u001b[22m\n",
        stderr: "Error: connect ECONNRESET 127.0.0.1:8080\n",
        interrupted: false,
      },
      error: "Exit code 1\nTest failed: login (ECONNRESET)",
    },
    undefined,
    5200,
  );

  // Three Agent calls: two explore side by side, the third waits for both.
  const chainStart = () => push("chain:started", { chainId: "main" }, 10);
  const task = (key: string, description: string, subagentType: string, prompt: string, waitsFor: string[]) => {
    const toolUseId = toolUse();
    const stepId = `task-${toolUseId}`;
    chainStart();
    push(
      "step:spawned",
      {
        chainId: "main",
        stepId,
        name: description,
        kind: "task",
        waitsFor,
        agentType: subagentType,
        toolUseId,
        input: { description, prompt, subagent_type: subagentType },
      },
      300,
    );
    push("step:started", { chainId: "main", stepId }, 5);
    void key;
    return { stepId, toolUseId };
  };
  const subagent = (parent: string, agentId: string, agentType: string) => {
    const stepId = `agent-${agentId}`;
    push("step:spawned", { chainId: "main", stepId, name: agentType, kind: "subagent", waitsFor: [], parentStepId: parent, agentType }, 200);
    push("step:started", { chainId: "main", stepId }, 5);
    return stepId;
  };

  const tA = task("a", "Find flaky tests", "Explore", "List tests that depend on the network and how they fail.", []);
  const tB = task("b", "Read the auth module", "Explore", "Explain how login talks to the server.", []);
  const aA = subagent(tA.stepId, "a1f3", "Explore");
  const aB = subagent(tB.stepId, "b7c2", "Explore");
  tool("Grep", { pattern: "fetch\\(", path: abs("test"), output_mode: "content" }, {
    response: { mode: "content", content: "test/login.test.ts:4:  expect(await login(\"ada\", \"pw\")).toBe(true);", numLines: 1 },
  }, aA);
  tool("Read", { file_path: abs("test/login.test.ts") }, {
    response: { type: "text", file: { filePath: abs("test/login.test.ts"), content: CWD_FILES["test/login.test.ts"], numLines: 5, startLine: 1, totalLines: 5 } },
  }, aA);
  tool("Read", { file_path: abs("src/auth.ts") }, {
    response: { type: "text", file: { filePath: abs("src/auth.ts"), content: CWD_FILES["src/auth.ts"], numLines: 1, startLine: 1, totalLines: 1 } },
  }, aB);
  tool("Read", { file_path: abs("src/http.ts") }, {
    response: { type: "text", file: { filePath: abs("src/http.ts"), content: CWD_FILES["src/http.ts"], numLines: 3, startLine: 1, totalLines: 3 } },
  }, aB);
  push("step:completed", { chainId: "main", stepId: aA, result: "One flaky test: test/login.test.ts hits the network without retries." }, 800);
  push("step:completed", {
    chainId: "main",
    stepId: tA.stepId,
    result: { content: [{ type: "text", text: "test/login.test.ts calls the real server; no retry." }], totalDurationMs: 9100, totalToolUseCount: 2 },
  }, 20);
  push("step:completed", { chainId: "main", stepId: aB, result: "login() posts once through request(); a reset connection fails it." }, 600);
  push("step:completed", {
    chainId: "main",
    stepId: tB.stepId,
    result: { content: [{ type: "text", text: "request() has no retry; ECONNRESET surfaces as a failure." }], totalDurationMs: 8200, totalToolUseCount: 2 },
  }, 20);

  const tC = task("c", "Add retries to login", "general-purpose", "Wrap the login request in a retry with 3 attempts; add a test.", [tA.stepId, tB.stepId]);
  const aC = subagent(tC.stepId, "c9d4", "general-purpose");
  tool("Edit", { file_path: abs("src/login.ts"), old_string: "const res = await fetchLogin(user);", new_string: "const res = await fetchLogin(user, 3);" }, {
    error: "String to replace not found in file.\nString: const res = await fetchLogin(user);",
  }, aC, 30);
  const editId = tool(
    "Edit",
    { file_path: abs("src/login.ts"), old_string: OLD_LOGIN, new_string: NEW_LOGIN, replace_all: false },
    { response: { filePath: abs("src/login.ts"), oldString: OLD_LOGIN, newString: NEW_LOGIN, userModified: false, replaceAll: false } },
    aC,
    45,
  );
  push("file:modified", { path: "src/login.ts", stepId: aC }, 30);
  tool("MultiEdit", {
    file_path: abs("src/retry.ts"),
    edits: [
      { old_string: "export const ATTEMPTS = 1;", new_string: "export const ATTEMPTS = 3;" },
      { old_string: "export const DELAY_MS = 0;", new_string: "export const DELAY_MS = 250;" },
    ],
  }, { response: { filePath: abs("src/retry.ts") } }, aC, 40);
  push("file:modified", { path: "src/retry.ts", stepId: aC }, 30);
  tool("Write", {
    file_path: abs("test/retry.test.ts"),
    content: 'import { withRetry } from "../src/retry";\n\ntest("retries three times", async () => {\n  let calls = 0;\n  await withRetry(async () => { calls++; if (calls < 3) throw new Error("reset"); });\n  expect(calls).toBe(3);\n});\n',
  }, { response: { type: "create", filePath: abs("test/retry.test.ts") } }, aC, 20);
  push("file:created", { path: "test/retry.test.ts", stepId: aC }, 30);
  tool("Bash", { command: "npm test", description: "Run every test" }, {
    response: {
      stdout: "\u001b[32m ✓ \u001b[39mtest/login.test.ts \u001b[2m(1 test)\u001b[22m\n\u001b[32m ✓ \u001b[39mtest/retry.test.ts \u001b[2m(1 test)\u001b[22m\n\n\u001b[1m Tests \u001b[22m \u001b[1m\u001b[32m2 passed\u001b[39m\u001b[22m\n",
      stderr: "",
      interrupted: false,
    },
  }, aC, 3100);

  tool("AskUserQuestion", {
    questions: [
      {
        question: "How many login attempts should we allow?",
        header: "Retries",
        multiSelect: false,
        options: [
          { label: "3 attempts", description: "Recommended: covers a reset connection" },
          { label: "5 attempts", description: "Slower to fail" },
        ],
      },
    ],
  }, {
    response: {
      questions: [{ question: "How many login attempts should we allow?", header: "Retries", multiSelect: false, options: [] }],
      answers: { "How many login attempts should we allow?": "3 attempts" },
    },
  }, undefined, 14000);
  tool("WebFetch", { url: "https://example.com/docs/retry", prompt: "Recommended retry delays?" }, {
    response: { bytes: 5120, code: 200, codeText: "OK", result: "Use exponential backoff starting at 250 ms.", durationMs: 640, url: "https://example.com/docs/retry" },
  });
  push("prompt:submitted", { prompt: "Looks good. Also log each retry at debug level." }, 4000);

  const finished = events.filter((e) => e.type === "tool:used" && e["status"] !== "started");
  return {
    id,
    cwd,
    events,
    expected: {
      prompts: events.filter((e) => e.type === "prompt:submitted").length,
      toolCalls: finished.length,
      failures:
        finished.filter((e) => e["status"] === "failed").length +
        events.filter((e) => e.type === "step:failed" || e.type === "error:occurred").length,
      subagents: events.filter((e) => e.type === "step:spawned" && e["kind"] === "subagent").length,
    },
    tasks: { a: tA.stepId, b: tB.stepId, c: tC.stepId },
    agents: { a: aA, b: aB, c: aC },
    edit: { toolUseId: editId, added: "withRetry(() => request", removed: 'const res = await request("/login", { user, password });' },
    stepFile: { stepId: aC, path: "src/login.ts" },
  };
}

/** `n` small events of a session (prompts, tool calls, output), for the 100k test. */
export function bulkEvents(id: string, from: number, n: number, startMs: number): NewEvent[] {
  const out: NewEvent[] = [];
  for (let i = from; i < from + n; i++) {
    const timestamp = new Date(startMs + i * 10).toISOString();
    const k = i % 10;
    if (k === 0) out.push({ sessionId: id, type: "prompt:submitted", timestamp, prompt: `prompt ${i}: keep going` });
    else if (k < 5)
      out.push({
        sessionId: id,
        type: "tool:used",
        timestamp,
        toolName: "Bash",
        toolUseId: `tu-${i - (k % 2 === 0 ? 1 : 0)}`,
        status: k % 2 === 1 ? "started" : "succeeded",
        input: { command: `echo ${i}` },
      });
    else if (k < 8) out.push({ sessionId: id, type: "terminal:output", timestamp, text: `line ${i} \u001b[32mok\u001b[39m`, stream: "stdout" });
    else out.push({ sessionId: id, type: "file:modified", timestamp, path: `src/file${i % 50}.ts` });
  }
  return out;
}
