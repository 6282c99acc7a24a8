// What the session-detail browser tests stand on: the real `chainwatch` server (this
// checkout's debug build, or CHAINWATCH_BIN) on a free port with a temporary data dir,
// Debian's Chromium driven by playwright-core with a fresh profile, and a small REST
// client playing the agent. Everything started here is stopped by dispose()/close().
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const REPO_DIR = resolve(WEB_DIR, "..");
const DIST = resolve(WEB_DIR, "dist");

/** The server's Content-Security-Policy (crates/backend/src/web.rs), for the stand-in front. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function serverBinary(): string {
  const bin = process.env["CHAINWATCH_BIN"] ?? resolve(REPO_DIR, "target/debug/chainwatch");
  if (!existsSync(bin)) {
    throw new Error(`no chainwatch binary at ${bin}: run \`cargo build -p chainwatch\` first, or set CHAINWATCH_BIN`);
  }
  return bin;
}

export function chromiumPath(): string {
  const path = process.env["CHROMIUM_BIN"] ?? "/usr/bin/chromium";
  if (!existsSync(path)) {
    throw new Error(`no Chromium at ${path}: install Debian's (\`apt-get install -y --no-install-recommends chromium\`) or set CHROMIUM_BIN`);
  }
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One `chainwatch serve --no-watch` process on a free port with its own data dir. */
export class Server {
  #child: ChildProcess | undefined;
  #log: string[] = [];
  #front: HttpServer | undefined;
  #frontPort: number | undefined;
  /** The front's upgraded (socket) connections: an HTTP server's close() waits for them. */
  readonly #tunnels = new Set<{ destroy(): void }>();

  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  /**
   * Starts the server. Pages open the server itself when it serves the built app at
   * `/`; a binary built before its web/dist existed, or whose embed folder does not
   * resolve, does not, and then a stand-in front on another port serves web/dist (with
   * the server's CSP) and forwards /api and /ws to it.
   */
  static async start(): Promise<Server> {
    if (!existsSync(join(DIST, "index.html"))) throw new Error(`no ${DIST}/index.html: run npm run build first`);
    const frontPort = await freePort();
    const server = new Server(await freePort(), tempDir("chainwatch-detail-data-"));
    await server.#start(frontPort);
    const html = await (await fetch(`${server.url}/`)).text();
    if (!html.includes('id="root"')) await server.#startFront(frontPort);
    return server;
  }

  /** Where agents and REST clients reach the server. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where pages open the dashboard: the server, or the stand-in front. */
  get pageUrl(): string {
    return this.#frontPort !== undefined ? `http://127.0.0.1:${this.#frontPort}` : this.url;
  }

  async #startFront(port: number): Promise<void> {
    const upstream = this.port;
    const front = createHttpServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://front");
      if (url.pathname.startsWith("/api/") || url.pathname === "/api") {
        const proxied = httpRequest(
          { host: "127.0.0.1", port: upstream, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        proxied.on("error", () => {
          res.writeHead(502);
          res.end();
        });
        req.pipe(proxied);
        return;
      }
      let file = resolve(DIST, `.${decodeURIComponent(url.pathname)}`);
      if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, "index.html");
      const type = file.endsWith(".js")
        ? "text/javascript"
        : file.endsWith(".css")
          ? "text/css"
          : file.endsWith(".svg")
            ? "image/svg+xml"
            : file.endsWith(".html")
              ? "text/html; charset=utf-8"
              : "application/octet-stream";
      res.writeHead(200, {
        "Content-Type": type,
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
      });
      res.end(readFileSync(file));
    });
    // The socket: the upgrade request is passed on as it came, then bytes both ways.
    front.on("upgrade", (req, socket, head) => {
      this.#tunnels.add(socket);
      socket.on("close", () => this.#tunnels.delete(socket));
      const up = connect(upstream, "127.0.0.1", () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        up.write(`${lines.join("\r\n")}\r\n\r\n`);
        if (head.length > 0) up.write(head);
        socket.pipe(up).pipe(socket);
      });
      this.#tunnels.add(up);
      up.on("close", () => this.#tunnels.delete(up));
      up.on("error", () => socket.destroy());
      socket.on("error", () => up.destroy());
    });
    await new Promise<void>((r) => front.listen(port, "127.0.0.1", () => r()));
    this.#front = front;
    this.#frontPort = port;
  }

  get log(): string {
    return this.#log.join("");
  }

  async #start(frontPort: number): Promise<void> {
    const args = ["serve", "--bind", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--no-watch"];
    args.push("--allowed-origin", `http://127.0.0.1:${frontPort}`);
    const child = spawn(serverBinary(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    this.#child = child;
    const keep = (chunk: Buffer) => {
      this.#log.push(chunk.toString());
      if (this.#log.length > 200) this.#log.splice(0, this.#log.length - 200);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`chainwatch exited (${child.exitCode ?? child.signalCode}) before serving:\n${this.log}`);
      }
      try {
        if ((await fetch(`${this.url}/api/health`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`chainwatch did not answer /api/health within 20 s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL) and removes its data dir. */
  async dispose(): Promise<void> {
    const front = this.#front;
    this.#front = undefined;
    if (front !== undefined) {
      for (const tunnel of this.#tunnels) tunnel.destroy();
      this.#tunnels.clear();
      front.closeAllConnections();
      await new Promise<void>((r) => front.close(() => r()));
    }
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A REST call; fails unless the status is the one expected. */
export async function call<T = unknown>(server: Server, method: string, path: string, body?: unknown, status?: number): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { Accept: "application/json", "Content-Type": "application/json" };
  }
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  const expected = status ?? (method === "POST" ? 201 : 200);
  if (res.status !== expected) throw new Error(`${method} ${path}: expected ${expected}, got ${res.status}: ${text.slice(0, 500)}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** Posts events as an agent does (one array, ≤ 10,000). */
export async function postEvents(server: Server, events: readonly object[]): Promise<void> {
  const reply = await fetch(`${server.url}/api/events`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(events),
  });
  if (reply.status !== 201) throw new Error(`POST /api/events: ${reply.status}: ${(await reply.text()).slice(0, 500)}`);
}

/** A Chromium with a fresh profile; close() removes it. */
export class Browser {
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly profile: string,
  ) {}

  static async launch(viewport = { width: 1400, height: 900 }): Promise<Browser> {
    const profile = tempDir("chainwatch-detail-profile-");
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      colorScheme: "light",
    });
    context.setDefaultTimeout(15_000);
    return new Browser(context, profile);
  }

  /** A new tab at `hash`; page errors and CSP violations are collected as problems. */
  async open(server: Server, hash: string): Promise<Page> {
    const page = await this.context.newPage();
    page.on("pageerror", (err) => this.problems.push(`page error: ${err.message}`));
    page.on("console", (msg: ConsoleMessage) => {
      if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) this.problems.push(`CSP: ${msg.text()}`);
    });
    await page.goto(`${server.pageUrl}/${hash}`);
    return page;
  }

  /** Closes the browser (giving up after 20 s: a stuck close must not hang the run). */
  async close(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.context.close(), new Promise<void>((r) => (timer = setTimeout(r, 20_000)))]);
    clearTimeout(timer);
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** Marks the page's JS context: if the page ever reloads, the mark is gone. */
export async function mark(page: Page): Promise<string> {
  const token = Math.random().toString(36).slice(2);
  await page.evaluate((t) => {
    (window as unknown as { detailTestMark?: string }).detailTestMark = t;
  }, token);
  return token;
}

export async function markOf(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (window as unknown as { detailTestMark?: string }).detailTestMark);
}
