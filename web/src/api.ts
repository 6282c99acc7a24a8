// Typed wrappers for the REST API under /api (JSON, camelCase). Request and response
// shapes are the generated types; an error answer is `{error, message}` (ErrorBody)
// and becomes an ApiError carrying the server's message.
import type {
  AcknowledgeCommand,
  Command,
  CommandList,
  CreateSession,
  DecidePermission,
  EndSession,
  ErrorBody,
  EventList,
  FileContent,
  FileTree,
  Health,
  InputAnswer,
  IssueCommand,
  NotifySettings,
  PermissionRequest,
  PushKey,
  PushSubscription,
  SearchResults,
  Session,
  SessionDetail,
  SessionId,
  SessionList,
  SessionStatus,
  SubmitInput,
  UpdateSession,
} from "./generated";
import { readToken, requireSignIn } from "./auth";

export class ApiError extends Error {
  /** HTTP status (0 when the request never got an answer). */
  readonly status: number;
  /** The server's machine-readable code, e.g. `not_found`, `conflict`. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }

  /** 409: e.g. a question already answered, a permission already decided. */
  get isConflict(): boolean {
    return this.status === 409;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** 401: the server wants a bearer token (or a different one). */
  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

export interface ApiOptions {
  /** Prefix of every path (default: same origin). */
  baseUrl?: string;
  /**
   * A bearer token, for a server reachable from elsewhere: a fixed one, or a function
   * asked on every request (the signed-in token may change).
   */
  token?: string | (() => string | undefined);
  /** Called on every 401 answer (before the ApiError is thrown): show a sign-in. */
  onUnauthorized?: (error: ApiError) => void;
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | boolean | undefined>;

function queryString(query: Query | undefined): string {
  if (query === undefined) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { error?: unknown }).error === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

export interface SessionQuery {
  /** One status or several (sent comma-separated). */
  status?: SessionStatus | readonly SessionStatus[];
  /** true: ended sessions only (history); false: live ones only. */
  ended?: boolean;
  /** Exact user. */
  user?: string;
  /** Exact hostname. */
  host?: string;
  /** Text to find in id, cwd, title, summary, user or host. */
  q?: string;
  /** Page size (server default 100, at most 1000). */
  limit?: number;
  offset?: number;
}

export interface EventQuery {
  /** Events with seq > since (0: from the start). */
  since?: number;
  /** Instead of `since`: the newest events with seq < before (paging backwards). */
  before?: number;
  /** Page size (server default 1000, at most 10000). */
  limit?: number;
}

export function createApi(options: ApiOptions = {}) {
  const base = options.baseUrl ?? "";
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function request<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const token = typeof options.token === "function" ? options.token() : options.token;
    if (token !== undefined && token !== "") headers["Authorization"] = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);

    let response: Response;
    try {
      response = await doFetch(`${base}${path}${queryString(query)}`, init);
    } catch (err) {
      throw new ApiError(0, "network", `${method} ${path}: the server could not be reached (${String(err)})`);
    }
    const text = await response.text();
    let data: unknown = undefined;
    if (text !== "") {
      try {
        data = JSON.parse(text);
      } catch {
        if (response.ok) throw new ApiError(response.status, "bad_response", `${method} ${path}: the answer is not JSON`);
      }
    }
    if (!response.ok) {
      let error: ApiError;
      if (isErrorBody(data)) {
        error = new ApiError(response.status, data.error, data.message);
      } else {
        const fallback = text.trim().slice(0, 200) || response.statusText || "request failed";
        error = new ApiError(response.status, `http_${response.status}`, `${method} ${path}: ${response.status} ${fallback}`);
      }
      if (error.isUnauthorized) options.onUnauthorized?.(error);
      throw error;
    }
    return data as T;
  }

  /** A GET whose answer is not JSON (an export): its body as a Blob. */
  async function download(path: string, query?: Query): Promise<Blob> {
    const headers: Record<string, string> = {};
    const token = typeof options.token === "function" ? options.token() : options.token;
    if (token !== undefined && token !== "") headers["Authorization"] = `Bearer ${token}`;
    let response: Response;
    try {
      response = await doFetch(`${base}${path}${queryString(query)}`, { method: "GET", headers });
    } catch (err) {
      throw new ApiError(0, "network", `GET ${path}: the server could not be reached (${String(err)})`);
    }
    if (!response.ok) {
      const text = await response.text();
      let error = new ApiError(response.status, `http_${response.status}`, `GET ${path}: ${response.status} ${text.slice(0, 200)}`);
      try {
        const data: unknown = JSON.parse(text);
        if (isErrorBody(data)) error = new ApiError(response.status, data.error, data.message);
      } catch {
        // Not an error body: keep the text.
      }
      if (error.isUnauthorized) options.onUnauthorized?.(error);
      throw error;
    }
    return response.blob();
  }

  const session = (id: SessionId) => `/api/sessions/${encodeURIComponent(id)}`;

  return {
    health: () => request<Health>("GET", "/api/health"),

    listSessions: ({ status, ...rest }: SessionQuery = {}) =>
      request<SessionList>("GET", "/api/sessions", undefined, {
        ...rest,
        status: typeof status === "string" ? status : status?.join(","),
      }),
    createSession: (body: CreateSession) => request<Session>("POST", "/api/sessions", body),
    getSession: (id: SessionId) => request<SessionDetail>("GET", session(id)),
    updateSession: (id: SessionId, body: UpdateSession) => request<Session>("PUT", session(id), body),
    endSession: (id: SessionId, body: EndSession = {}) => request<Session>("POST", `${session(id)}/end`, body),

    listEvents: (query: EventQuery = {}) => request<EventList>("GET", "/api/events", undefined, { ...query }),
    listSessionEvents: (id: SessionId, query: EventQuery = {}) =>
      request<EventList>("GET", `${session(id)}/events`, undefined, { ...query }),

    issueCommand: (id: SessionId, body: IssueCommand) => request<Command>("POST", `${session(id)}/commands`, body),
    /** What an agent does when it acted on a command (the dashboard never calls it). */
    acknowledgeCommand: (id: SessionId, commandId: string, body: AcknowledgeCommand = {}) =>
      request<Command>("POST", `${session(id)}/commands/${encodeURIComponent(commandId)}/ack`, body),
    listCommands: (id: SessionId) => request<CommandList>("GET", `${session(id)}/commands`),

    /** 409 (ApiError.isConflict) when the question was already answered. */
    submitInput: (id: SessionId, body: SubmitInput) => request<InputAnswer>("POST", `${session(id)}/input`, body),
    /** 409 (ApiError.isConflict) when the request was already decided: the first answer wins. */
    decidePermission: (id: SessionId, requestId: string, body: DecidePermission) =>
      request<PermissionRequest>("POST", `${session(id)}/permissions/${encodeURIComponent(requestId)}`, body),

    /** Full-text search across the sessions the caller may see, newest first. */
    search: (q: string, query: { sessionId?: SessionId; since?: number; limit?: number } = {}) =>
      request<SearchResults>("GET", "/api/search", undefined, { q, ...query }),
    /** A session as JSONL (every event) or Markdown (the conversation). */
    exportSession: (id: SessionId, format: "jsonl" | "markdown") => download(`${session(id)}/export`, { format }),

    listFiles: (id: SessionId) => request<FileTree>("GET", `${session(id)}/files`),
    readFile: (id: SessionId, path: string) =>
      request<FileContent>("GET", `${session(id)}/files/content`, undefined, { path }),

    /** The server's VAPID key, and how many browsers of this token get pushes. */
    pushKey: () => request<PushKey>("GET", "/api/push/key"),
    subscribePush: (body: PushSubscription) => request<PushKey>("POST", "/api/push/subscriptions", body),
    unsubscribePush: (endpoint: string) => request<undefined>("DELETE", "/api/push/subscriptions", { endpoint }),
    notifySettings: () => request<NotifySettings>("GET", "/api/notify/settings"),
    setNotifySettings: (body: NotifySettings) => request<NotifySettings>("PUT", "/api/notify/settings", body),
  };
}

export type Api = ReturnType<typeof createApi>;

/** The app's API client: same origin, with the signed-in token; a 401 asks for one. */
export const api: Api = createApi({ token: readToken, onUnauthorized: (err) => requireSignIn(err.message) });
