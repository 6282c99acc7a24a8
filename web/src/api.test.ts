import { describe, expect, it } from "vitest";
import { ApiError, createApi } from "./api";

function fakeFetch(status: number, body: unknown, calls: Array<{ url: string; init: RequestInit | undefined }>) {
  return (input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init });
    return Promise.resolve(new Response(body === undefined ? "" : JSON.stringify(body), { status }));
  };
}

describe("api", () => {
  it("builds query strings without empty values and sends JSON bodies", async () => {
    const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
    const api = createApi({ fetch: fakeFetch(200, { sessions: [], total: 0 }, calls) });
    await api.listSessions({ status: ["active", "waiting"], q: "", user: "ada", limit: 50 });
    expect(calls[0]?.url).toBe("/api/sessions?user=ada&limit=50&status=active%2Cwaiting");
    await api.issueCommand("s/1", { type: "pause", reason: "lunch" });
    expect(calls[1]?.url).toBe("/api/sessions/s%2F1/commands");
    expect(calls[1]?.init?.method).toBe("POST");
    expect(JSON.parse(String(calls[1]?.init?.body))).toEqual({ type: "pause", reason: "lunch" });
    await api.readFile("s1", "src/main.rs");
    expect(calls[2]?.url).toBe("/api/sessions/s1/files/content?path=src%2Fmain.rs");
  });

  it("surfaces the server's message, code and status", async () => {
    const api = createApi({
      fetch: fakeFetch(409, { error: "already_answered", message: "question q1 was already answered" }, []),
    });
    const err = await api.submitInput("s1", { text: "yes" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe("question q1 was already answered");
    expect((err as ApiError).code).toBe("already_answered");
    expect((err as ApiError).isConflict).toBe(true);
  });

  it("explains an error answer that is not the JSON error shape", async () => {
    const api = createApi({ fetch: () => Promise.resolve(new Response("bad gateway", { status: 502 })) });
    await expect(api.health()).rejects.toThrow("GET /api/health: 502 bad gateway");
  });

  it("sends the current bearer token and reports a 401", async () => {
    const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
    let token: string | undefined = undefined;
    const refused: string[] = [];
    const api = createApi({
      fetch: fakeFetch(401, { error: "unauthorized", message: "a bearer token is required" }, calls),
      token: () => token,
      onUnauthorized: (err) => refused.push(err.message),
    });
    const first = await api.health().catch((e: unknown) => e);
    expect((first as ApiError).isUnauthorized).toBe(true);
    expect(new Headers(calls[0]?.init?.headers).get("Authorization")).toBeNull();
    token = "s3cret-token-0123456789";
    await api.listSessions().catch(() => {});
    expect(new Headers(calls[1]?.init?.headers).get("Authorization")).toBe("Bearer s3cret-token-0123456789");
    expect(refused).toEqual(["a bearer token is required", "a bearer token is required"]);
  });
});
