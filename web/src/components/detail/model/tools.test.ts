import { describe, expect, test } from "vitest";
import { ev } from "./fixtures";
import { describeTool, lineDiff, pairToolCalls, responseText, toolFileAccess, toolHeadline, toolPath, type ToolCall } from "./tools";

const call = (toolName: string, input: unknown, response?: unknown, status: ToolCall["status"] = "succeeded", error?: string) =>
  ({ toolName, input, response, status, error }) as Pick<ToolCall, "toolName" | "input" | "response" | "status" | "error">;

describe("pairing tool calls", () => {
  test("started and finished events of one tool_use_id make one call", () => {
    const calls = pairToolCalls([
      ev(1, { type: "tool:used", toolName: "Bash", toolUseId: "a", status: "started", input: { command: "ls" }, stepId: "agent-1" }),
      ev(2, { type: "tool:used", toolName: "Read", toolUseId: "b", status: "started", input: { file_path: "/r/x" } }),
      ev(3, { type: "tool:used", toolName: "Bash", toolUseId: "a", status: "succeeded", input: { command: "ls" }, response: { stdout: "x" }, durationMs: 12 }),
      ev(4, { type: "prompt:submitted", prompt: "p" }),
      ev(5, { type: "tool:used", toolName: "Glob", status: "failed", error: "bad" }),
    ]);
    expect(calls.map((c) => [c.key, c.toolName, c.status, c.seq])).toEqual([
      ["a", "Bash", "succeeded", 1],
      ["b", "Read", "running", 2],
      ["seq:5", "Glob", "failed", 5],
    ]);
    expect(calls[0]).toMatchObject({ durationMs: 12, stepId: "agent-1", response: { stdout: "x" } });
  });

  test("the order the events arrive in does not matter", () => {
    const finished = ev(9, { type: "tool:used", toolName: "Edit", toolUseId: "e", status: "failed", error: "no match" });
    const started = ev(4, { type: "tool:used", toolName: "Edit", toolUseId: "e", status: "started", input: { file_path: "/a" } });
    const [c] = pairToolCalls([finished, started]);
    expect(c).toMatchObject({ status: "failed", seq: 4, error: "no match", input: { file_path: "/a" } });
    expect(c?.durationMs).toBe(5000);
  });
});

describe("what each tool shows", () => {
  test("Bash: command, output and exit state", () => {
    expect(describeTool(call("Bash", { command: "npm test", description: "Run" }, { stdout: "ok\n", stderr: "", interrupted: false }))).toEqual({
      kind: "bash",
      command: "npm test",
      description: "Run",
      stdout: "ok\n",
      stderr: "",
      exit: "ok",
      background: false,
    });
    expect(describeTool(call("Bash", { command: "false" }, undefined, "failed", "Exit code 1"))).toMatchObject({ exit: "failed" });
    expect(describeTool(call("Bash", { command: "sleep 9" }, { stdout: "", interrupted: true }))).toMatchObject({ exit: "interrupted" });
    expect(describeTool(call("Bash", { command: "x" }, { stdout: "", exitCode: 2 }))).toMatchObject({ exit: "failed", exitCode: 2 });
    expect(describeTool(call("Bash", { command: "x" }, undefined, "running"))).toMatchObject({ exit: "running" });
  });

  test("Edit and MultiEdit: a line diff of old and new strings", () => {
    const edit = describeTool(call("Edit", { file_path: "/r/a.ts", old_string: "a\nb\nc", new_string: "a\nB\nc" }));
    expect(edit).toEqual({
      kind: "edit",
      path: "/r/a.ts",
      hunks: [
        {
          oldString: "a\nb\nc",
          newString: "a\nB\nc",
          replaceAll: false,
          lines: [
            { op: "ctx", text: "a" },
            { op: "del", text: "b" },
            { op: "add", text: "B" },
            { op: "ctx", text: "c" },
          ],
        },
      ],
    });
    const multi = describeTool(
      call("MultiEdit", { file_path: "/r/b.ts", edits: [{ old_string: "1", new_string: "2" }, { old_string: "x", new_string: "y", replace_all: true }, { bad: 1 }] }),
    );
    expect(multi.kind).toBe("edit");
    if (multi.kind === "edit") {
      expect(multi.hunks).toHaveLength(2);
      expect(multi.hunks[1]?.replaceAll).toBe(true);
    }
    // From the response when the input lacks the strings.
    expect(describeTool(call("Edit", { file_path: "/r/a.ts" }, { filePath: "/r/a.ts", oldString: "x", newString: "y" })).kind).toBe("edit");
  });

  test("lineDiff keeps trailing newlines out of the lines", () => {
    expect(lineDiff("one\n", "one\ntwo\n")).toEqual([
      { op: "ctx", text: "one" },
      { op: "add", text: "two" },
    ]);
  });

  test("Write, Read, Grep and Glob", () => {
    expect(describeTool(call("Write", { file_path: "/r/n.ts", content: "a\nb\n" }, { type: "create" }))).toEqual({
      kind: "write",
      path: "/r/n.ts",
      content: "a\nb\n",
      lines: 2,
      created: true,
    });
    expect(
      describeTool(call("Read", { file_path: "/r/a.ts", offset: 10, limit: 5 }, { type: "text", file: { content: "x", numLines: 5, totalLines: 90 } })),
    ).toEqual({ kind: "read", path: "/r/a.ts", offset: 10, limit: 5, content: "x", numLines: 5, totalLines: 90 });
    expect(describeTool(call("Grep", { pattern: "retry", path: "/r", glob: "*.ts" }, { mode: "files_with_matches", filenames: ["/r/a.ts", "/r/b.ts"], numFiles: 2 }))).toEqual({
      kind: "search",
      tool: "Grep",
      pattern: "retry",
      path: "/r",
      glob: "*.ts",
      mode: "files_with_matches",
      files: ["/r/a.ts", "/r/b.ts"],
      count: 2,
      truncated: false,
    });
    expect(describeTool(call("Glob", { pattern: "**/*.md" }, { filenames: ["a.md"], truncated: true }))).toMatchObject({ files: ["a.md"], count: 1, truncated: true });
  });

  test("Task/Agent and AskUserQuestion", () => {
    expect(
      describeTool(call("Agent", { description: "Explore", prompt: "Look", subagent_type: "Explore" }, { content: [{ type: "text", text: "Found it" }] })),
    ).toEqual({ kind: "task", description: "Explore", prompt: "Look", agentType: "Explore", result: "Found it" });
    const q = describeTool(
      call(
        "AskUserQuestion",
        { questions: [{ question: "How many?", header: "N", multiSelect: false, options: [{ label: "3", description: "three" }, { label: "5" }] }] },
        { answers: { "How many?": "3" } },
      ),
    );
    expect(q).toEqual({
      kind: "question",
      questions: [{ question: "How many?", header: "N", multiSelect: false, options: [{ label: "3", description: "three" }, { label: "5" }], answer: "3" }],
    });
  });

  test("anything else, or anything malformed, is JSON", () => {
    expect(describeTool(call("WebFetch", { url: "https://x" }, { result: "r" })).kind).toBe("json");
    expect(describeTool(call("Edit", "not an object")).kind).toBe("json");
    expect(describeTool(call("Bash", null)).kind).toBe("json");
    expect(describeTool(call("AskUserQuestion", { questions: "?" })).kind).toBe("json");
    expect(describeTool(call("MultiEdit", { file_path: "/a", edits: [] })).kind).toBe("json");
  });

  test("headlines, paths, file access and response text", () => {
    expect(toolHeadline("Bash", { command: "ls -la" })).toBe("ls -la");
    expect(toolHeadline("Grep", { pattern: "x", path: "/r" })).toBe("x in /r");
    expect(toolHeadline("Agent", { description: "Fix", subagent_type: "general-purpose" })).toBe("Fix (general-purpose)");
    expect(toolHeadline("AskUserQuestion", { questions: [{ question: "Why?" }] })).toBe("Why?");
    expect(toolHeadline("mcp__x__y", { query: "q", n: 1 })).toBe("query: q");
    expect(toolPath({ notebook_path: "/n.ipynb" })).toBe("/n.ipynb");
    expect(toolFileAccess({ toolName: "Write", input: {}, response: { type: "create" } })).toBe("created");
    expect(toolFileAccess({ toolName: "Write", input: {}, response: { type: "update" } })).toBe("modified");
    expect(toolFileAccess({ toolName: "Read", input: {} })).toBe("read");
    expect(toolFileAccess({ toolName: "Bash", input: {} })).toBeUndefined();
    expect(responseText([{ type: "text", text: "a" }, { type: "text", text: "b" }])).toBe("a\nb");
    expect(responseText({ result: "r" })).toBe("r");
    expect(responseText(null)).toBeUndefined();
  });
});

describe("lineDiff on a diff too slow to compute", () => {
  test("falls back to the old lines removed and the new added", () => {
    expect(lineDiff("a\nb", "a\nc", -1)).toEqual([
      { op: "del", text: "a" },
      { op: "del", text: "b" },
      { op: "add", text: "a" },
      { op: "add", text: "c" },
    ]);
  });
});
