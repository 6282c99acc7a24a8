import { describe, expect, it } from "vitest";
import { subscribeFailure } from "./push";

describe("subscribeFailure", () => {
  it("names the push service when the browser cannot reach it", () => {
    const timeout = subscribeFailure(new DOMException("no answer from the push service in 15 s", "TimeoutError"));
    expect(timeout).toMatch(/^This browser could not reach its push service \(no answer from the push service in 15 s\)/);
    const abort = subscribeFailure(new DOMException("Registration failed - push service error", "AbortError"));
    expect(abort).toMatch(/^This browser could not reach its push service \(Registration failed - push service error\)/);
  });

  it("tells a blocked permission and anything else apart", () => {
    expect(subscribeFailure(new DOMException("denied", "NotAllowedError"))).toBe(
      "Notifications are blocked for this site in the browser's settings.",
    );
    expect(subscribeFailure(new DOMException("bad key", "InvalidAccessError"))).toBe("The browser refused to subscribe (bad key)");
  });
});
