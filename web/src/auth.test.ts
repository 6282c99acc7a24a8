import { describe, expect, it } from "vitest";
import { authStore, readToken, requireSignIn, signIn, signOut, socketProtocols } from "./auth";

describe("auth", () => {
  it("offers the token to the socket as a subprotocol", () => {
    expect(socketProtocols(undefined)).toEqual(["chainwatch"]);
    expect(socketProtocols("abc-DEF_123.456~7890")).toEqual(["chainwatch", "bearer.abc-DEF_123.456~7890"]);
  });

  it("asks on a 401 and forgets the question once signed in", () => {
    requireSignIn("a token is required");
    expect(authStore.getSnapshot()).toMatchObject({ required: true, message: "a token is required" });
    signIn("  s3cret-token-0123456789 ");
    expect(readToken()).toBe("s3cret-token-0123456789");
    expect(authStore.getSnapshot().required).toBe(false);
    signOut();
    expect(readToken()).toBeUndefined();
  });
});
