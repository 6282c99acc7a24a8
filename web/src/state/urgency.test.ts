import { describe, expect, it } from "vitest";
import { restSession } from "./fixtures";
import { applyEvents, initialState, loadSessions } from "./reducer";
import { isSettled, shortText } from "./notices";
import { needsYouItems } from "./selectors";

describe("needs you by urgency", () => {
  it("puts permissions and questions above end-of-turn messages, however long those waited", () => {
    const stop = restSession("a", 5, {
      status: "waiting",
      awaitingInput: { requestId: "stop-1", prompt: "Done. ".repeat(300), quickResponses: [], since: "2025-01-01T00:00:00.000Z" },
    });
    const ask = restSession("b", 5, {
      status: "waiting",
      awaitingInput: { requestId: "q-1", prompt: "Which database?", quickResponses: [], since: "2025-01-01T00:05:00.000Z" },
    });
    const perm = restSession("c", 5, {
      status: "waiting",
      pendingPermissions: [{ requestId: "perm-1", toolName: "Bash", toolInput: { command: "git push --force" }, requestedAt: "2025-01-01T00:09:00.000Z" }],
    });
    // Blocking items by how long they waited, then the finished turn.
    expect(needsYouItems([stop, ask, perm]).map((i) => i.session.id)).toEqual(["b", "c", "a"]);
  });
});

describe("toasts", () => {
  it("say the start of a long text on one line", () => {
    const text = shortText(`## Summary\n\n${"All tests pass. ".repeat(40)}`);
    expect(text.length).toBeLessThanOrEqual(140);
    expect(text.startsWith("Summary All tests pass.")).toBe(true);
  });

  it("are settled once the question is answered or the session ends", () => {
    let state = loadSessions(initialState(), [
      restSession("s", 5, {
        status: "waiting",
        awaitingInput: { requestId: "q-1", prompt: "Which?", quickResponses: [], since: "2025-01-01T00:00:00.000Z" },
      }),
    ]);
    expect(isSettled("question:s:q-1", state)).toBe(false);
    state = applyEvents(state, [
      { seq: 6, eventId: "e6", sessionId: "s", timestamp: "2025-01-01T00:01:00.000Z", type: "interaction:input-received", requestId: "q-1", text: "Postgres" },
    ]);
    expect(isSettled("question:s:q-1", state)).toBe(true);
    expect(isSettled("permission:gone:perm-1", state)).toBe(true);
    expect(isSettled("failure:7", state)).toBe(false);
  });
});
