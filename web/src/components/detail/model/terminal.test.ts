import { describe, expect, test } from "vitest";
import { ev } from "./fixtures";
import {
  ansiSegments,
  assembleTerminal,
  countMatches,
  markMatches,
  paletteColor,
  searchTerminal,
  settleCarriageReturns,
} from "./terminal";

describe("terminal assembly", () => {
  const events = [
    ev(1, { type: "tool:used", toolName: "Bash", toolUseId: "a", status: "started", input: { command: "npm test" }, stepId: "agent-1" }),
    ev(2, { type: "tool:used", toolName: "Bash", toolUseId: "a", status: "failed", input: { command: "npm test" }, response: { stdout: "FAIL\n", stderr: "boom\n" }, error: "Exit code 1" }),
    ev(3, { type: "terminal:output", text: "FAIL\n", stream: "stdout", toolUseId: "a" }),
    ev(4, { type: "terminal:output", text: "boom\n", stream: "stderr", toolUseId: "a" }),
    ev(6, { type: "tool:used", toolName: "Bash", toolUseId: "b", status: "succeeded", input: { command: "ls" }, response: { stdout: "a.ts\n", stderr: "" } }),
    ev(5, { type: "terminal:output", text: "plain output of no call", stream: "stdout" }),
    ev(7, { type: "tool:used", toolName: "Read", toolUseId: "c", status: "succeeded", input: { file_path: "/x" } }),
  ];

  test("Bash calls in seq order, with their terminal output, or their response when none came", () => {
    const entries = assembleTerminal(events);
    expect(entries.map((e) => [e.key, e.command, e.exit, e.stepId])).toEqual([
      ["a", "npm test", "failed", "agent-1"],
      ["seq:5", undefined, undefined, undefined],
      ["b", "ls", "ok", undefined],
    ]);
    // terminal:output wins over the response (no doubled output)…
    expect(entries[0]?.chunks.map((c) => [c.stream, c.text])).toEqual([
      ["stdout", "FAIL\n"],
      ["stderr", "boom\n"],
    ]);
    // …and the response is used when no terminal:output came.
    expect(entries[2]?.chunks.map((c) => c.text)).toEqual(["a.ts\n"]);
  });

  test("a failed call without output shows its error", () => {
    const [e] = assembleTerminal([ev(1, { type: "tool:used", toolName: "Bash", toolUseId: "z", status: "failed", input: { command: "x" }, error: "command not found" })]);
    expect(e?.chunks).toEqual([{ seq: 1, stream: "stderr", text: "command not found" }]);
  });

  test("search over commands and output, ANSI ignored", () => {
    const entries = assembleTerminal([
      ev(1, { type: "terminal:output", text: "\u001b[31mError\u001b[0m: ECONN\u001b[1mRESET\u001b[0m", toolUseId: "a" }),
      ev(2, { type: "terminal:output", text: "all good", toolUseId: "b" }),
    ]);
    expect(searchTerminal(entries, "econnreset").map((e) => e.key)).toEqual(["a"]);
    expect(searchTerminal(entries, "").length).toBe(2);
    expect(countMatches(entries, "o")).toBe(4); // errOr, ecOnnreset, gOOd
    expect(countMatches(entries, " ")).toBe(0);
  });
});

describe("ANSI", () => {
  test("colours and decorations become classes; text stays text", () => {
    expect(ansiSegments("a \u001b[1;31mred <b>&amp;\u001b[0m z")).toEqual([
      { text: "a ", classes: [] },
      { text: "red <b>&amp;", classes: ["ansi-red-fg", "ansi-bold"] },
      { text: " z", classes: [] },
    ]);
    expect(ansiSegments("\u001b[92mbright\u001b[0m")[0]?.classes).toEqual(["ansi-bright-green-fg"]);
    expect(ansiSegments("\u001b[44mbg\u001b[0m")[0]?.classes).toEqual(["ansi-blue-bg"]);
  });

  test("256 colours and true colour become CSS colours", () => {
    expect(ansiSegments("\u001b[38;5;208mo\u001b[0m")[0]).toEqual({ text: "o", classes: [], color: "rgb(255, 135, 0)" });
    expect(ansiSegments("\u001b[38;2;10;20;30mt\u001b[0m")[0]).toEqual({ text: "t", classes: [], color: "rgb(10, 20, 30)" });
    expect(paletteColor(1)).toBe("rgb(187, 0, 0)");
    expect(paletteColor(232)).toBe("rgb(8, 8, 8)");
    expect(paletteColor(16)).toBe("rgb(0, 0, 0)");
  });

  test("no escape character survives; plain text is one segment", () => {
    const segs = ansiSegments("\u001b[2K\u001b[1Gprogress \u001b[33m50%\u001b[39m");
    expect(segs.map((s) => s.text).join("")).toBe("progress 50%");
    expect(segs.some((s) => s.text.includes("\u001b"))).toBe(false);
    expect(ansiSegments("plain")).toEqual([{ text: "plain", classes: [] }]);
    expect(ansiSegments("")).toEqual([]);
  });

  test("carriage returns: a progress bar shows its last state", () => {
    expect(settleCarriageReturns("10%\r50%\r100%\ndone\r\n")).toBe("100%\ndone\n");
    expect(settleCarriageReturns("no cr")).toBe("no cr");
    expect(settleCarriageReturns("tail\r")).toBe("tail");
  });

  test("search matches are marked, also across segments", () => {
    const segs = ansiSegments("ab\u001b[31mcd\u001b[0mef");
    const marked = markMatches(segs, "bcd");
    expect(marked.map((s) => [s.text, s.mark, s.classes.join(" ")])).toEqual([
      ["a", false, ""],
      ["b", true, ""],
      ["cd", true, "ansi-red-fg"],
      ["ef", false, ""],
    ]);
    expect(markMatches(segs, "zz").every((s) => !s.mark)).toBe(true);
    expect(markMatches([{ text: "xAxa", classes: [] }], "a").map((s) => [s.text, s.mark])).toEqual([
      ["x", false],
      ["A", true],
      ["x", false],
      ["a", true],
    ]);
  });
});
