import { describe, expect, test } from "vitest";
import type { FileChange } from "../../../generated";
import { buildTree, filesOfStep, formatSize, groupByStep, relativeToCwd, touchedFiles } from "./files";
import { ev } from "./fixtures";
import { pairToolCalls } from "./tools";

describe("files touched", () => {
  test("paths inside the cwd are relative; others stay as they are", () => {
    expect(relativeToCwd("/repo/src/a.ts", "/repo")).toEqual({ path: "src/a.ts", inCwd: true });
    expect(relativeToCwd("/repo/src/a.ts", "/repo/")).toEqual({ path: "src/a.ts", inCwd: true });
    expect(relativeToCwd("/elsewhere/a.ts", "/repo")).toEqual({ path: "/elsewhere/a.ts", inCwd: false });
    expect(relativeToCwd("/repository/a.ts", "/repo")).toEqual({ path: "/repository/a.ts", inCwd: false });
    expect(relativeToCwd("./src/a.ts", "/repo")).toEqual({ path: "src/a.ts", inCwd: true });
    expect(relativeToCwd("../up.ts", "/repo")).toEqual({ path: "../up.ts", inCwd: false });
  });

  test("file events and tool calls, tied to their step, one entry per step and path", () => {
    const changes: FileChange[] = [
      { path: "src/login.ts", change: "modified", stepId: "agent-c", at: "t", seq: 12 },
      { path: "test/new.test.ts", change: "created", stepId: "agent-c", at: "t", seq: 14 },
      { path: "README.md", change: "modified", at: "t", seq: 20 },
    ];
    const calls = pairToolCalls([
      ev(1, { type: "tool:used", toolName: "Read", toolUseId: "r", status: "succeeded", input: { file_path: "/repo/src/login.ts" } }),
      ev(10, { type: "tool:used", toolName: "Edit", toolUseId: "e", status: "succeeded", input: { file_path: "/repo/src/login.ts" }, stepId: "agent-c" }),
      ev(11, { type: "tool:used", toolName: "Edit", toolUseId: "f", status: "failed", input: { file_path: "/repo/src/other.ts" }, stepId: "agent-c" }),
      ev(13, { type: "tool:used", toolName: "Bash", toolUseId: "b", status: "succeeded", input: { command: "ls" }, stepId: "agent-c" }),
    ]);
    const files = touchedFiles(changes, calls, "/repo");
    expect(files.map((f) => [f.stepId, f.path, f.accesses.join("+"), f.count])).toEqual([
      [undefined, "README.md", "modified", 1],
      ["agent-c", "test/new.test.ts", "created", 1],
      // One Edit: the watcher's event for the same write is not a second change.
      ["agent-c", "src/login.ts", "modified", 1],
      [undefined, "src/login.ts", "read", 1],
    ]);
    expect(filesOfStep(files, "agent-c").map((f) => f.path)).toEqual(["test/new.test.ts", "src/login.ts"]);
    expect(groupByStep(files).map((g) => [g.stepId, g.files.length])).toEqual([
      ["agent-c", 2],
      [undefined, 2],
    ]);
  });

  test("a Write and the watcher's event for it are one creation, under the writer's step", () => {
    const changes: FileChange[] = [{ path: "src/new.ts", change: "created", stepId: "agent-other", at: "t", seq: 3 }];
    const calls = pairToolCalls([
      ev(1, { type: "tool:used", toolName: "Write", toolUseId: "w", status: "started", input: { file_path: "/repo/src/new.ts", content: "x" }, stepId: "agent-a" }),
      ev(2, { type: "tool:used", toolName: "Write", toolUseId: "w", status: "succeeded", input: { file_path: "/repo/src/new.ts", content: "x" }, stepId: "agent-a" }),
    ]);
    const files = touchedFiles(changes, calls, "/repo");
    expect(files.map((f) => [f.stepId, f.path, f.accesses.join("+"), f.count])).toEqual([["agent-a", "src/new.ts", "created", 1]]);
  });

  test("the cwd's tree: nested, directories first, by name", () => {
    const tree = buildTree([
      { path: "src/b.ts", dir: false, size: 10 },
      { path: "README.md", dir: false },
      { path: "src", dir: true },
      { path: "src/a.ts", dir: false },
      { path: "docs/img/x.png", dir: false },
    ]);
    expect(tree.map((n) => [n.name, n.dir])).toEqual([
      ["docs", true],
      ["src", true],
      ["README.md", false],
    ]);
    expect(tree[1]?.children.map((n) => [n.path, n.size])).toEqual([
      ["src/a.ts", undefined],
      ["src/b.ts", 10],
    ]);
    expect(tree[0]?.children[0]?.children[0]?.path).toBe("docs/img/x.png");
    expect(formatSize(512)).toBe("512 B");
    expect(formatSize(3482)).toBe("3.4 KB");
    expect(formatSize(5 * 1024 * 1024)).toBe("5.0 MB");
  });
});
