import { describe, expect, it } from "vitest";
import { combinedDiff, diffStat, fileEnds } from "./combined";
import type { ToolCall } from "./tools";

let seq = 0;
const call = (toolName: string, input: object, response: object): ToolCall =>
  ({ key: `t${++seq}`, toolName, status: "succeeded", input, response, seq } as unknown as ToolCall);

describe("one combined diff per file", () => {
  it("a created file, edited twice: nothing before, the last state after", () => {
    const calls = [
      call("Write", { file_path: "/r/a.ts", content: "a\nb\nc\n" }, { type: "create", originalFile: null, content: "a\nb\nc\n" }),
      call("Edit", { file_path: "/r/a.ts", old_string: "b", new_string: "B" }, { originalFile: "a\nb\nc\n" }),
      call("Edit", { file_path: "/r/a.ts", old_string: "c", new_string: "c\nd" }, { originalFile: "a\nB\nc\n" }),
    ];
    const ends = fileEnds(calls);
    expect(ends).toEqual({ before: "", after: "a\nB\nc\nd\n", created: true, calls: 3 });
    const lines = combinedDiff(ends!);
    expect(diffStat(lines)).toEqual({ added: 4, removed: 0 });
  });

  it("an existing file: from its content before the first edit to after the last, unchanged runs folded", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const mid = before.replace("line 2\n", "line two\n");
    const calls = [
      call("Edit", { old_string: "line 2\n", new_string: "line two\n" }, { originalFile: before }),
      call("MultiEdit", { edits: [{ old_string: "line 17", new_string: "line seventeen" }] }, { originalFile: mid }),
    ];
    const ends = fileEnds(calls);
    expect(ends?.before).toBe(before);
    expect(ends?.after).toBe(mid.replace("line 17", "line seventeen"));
    const lines = combinedDiff(ends!);
    expect(diffStat(lines)).toEqual({ added: 2, removed: 2 });
    expect(lines.filter((l) => l.op === "skip").map((l) => (l.op === "skip" ? l.skipped : 0))).toEqual([8]);
  });

  it("an Edit that lost its response says nothing rather than something wrong", () => {
    expect(fileEnds([call("Edit", { old_string: "x", new_string: "y" }, { preview: "cut" })])).toBeUndefined();
    expect(fileEnds([call("Write", { content: "x" }, {}), call("Edit", { old_string: "zz", new_string: "y" }, {})])).toBeUndefined();
  });
});
