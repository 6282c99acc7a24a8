// What the browser tests stand on: the real `chainwatch` server (from this checkout,
// or CHAINWATCH_BIN) on a free port with a temporary data dir, Debian's Chromium
// driven by playwright-core, and a small REST client for playing the agent. Every test
// file (dashboard, screenshots, session detail) stands on this one module.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";
import { afterAll } from "vitest";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const REPO_DIR = resolve(WEB_DIR, "..");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** The server binary: $CHAINWATCH_BIN, else the debug build of this checkout. */
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
    throw new Error(
      `no Chromium at ${path}: install Debian's (\`apt-get install -y --no-install-recommends chromium\`; \`cargo xtask ci\` does) or set CHROMIUM_BIN`,
    );
  }
  return path;
}

/** A port nothing listens on now (the OS picks one; it is closed again at once). */
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

/** Every directory `tempDir` made for the test file being run. */
const madeDirs = new Set<string>();
// Registered while the importing test file is collected, so it runs after that file's
// own afterAll hooks (servers and browsers stopped first). The test process is ended by
// the runner, not exited, so a process "exit" handler would never run.
afterAll(() => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
  madeDirs.clear();
});

/**
 * A fresh directory under the system's temp dir; removed once the test file is done
 * (also when a test failed before its own clean-up), so runs leave nothing in /tmp.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

/**
 * One `chainwatch serve` process; start() again after kill() reuses port and data dir.
 *
 * Pages open the server itself: it serves the built app (web/dist) at `/`.
 */
export interface ServerOptions {
  /** Watch session cwds for file changes (default true); false passes `--no-watch`. */
  watch?: boolean;
  /** More `chainwatch serve` arguments (tokens, notification flags, …). */
  args?: readonly string[];
}

export class ChainwatchServer {
  #child: ChildProcess | undefined;
  #log: string[] = [];

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly watch: boolean,
    readonly extraArgs: readonly string[] = [],
  ) {}

  static async start(options: ServerOptions = {}): Promise<ChainwatchServer> {
    const server = new ChainwatchServer(
      await freePort(),
      tempDir("chainwatch-browser-data-"),
      options.watch ?? true,
      options.args ?? [],
    );
    await server.start();
    await server.#checkServesApp();
    return server;
  }

  async #checkServesApp(): Promise<void> {
    const html = await (await fetch(`${this.url}/`)).text();
    if (!html.includes('id="root"')) {
      throw new Error(`the server does not serve the built app at / (run npm run build first); it answers:\n${html.slice(0, 300)}`);
    }
  }

  /** Where REST clients (agents, hooks) reach the server. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where pages open the dashboard. */
  get pageUrl(): string {
    return this.url;
  }

  /** The server's recent output, for failure messages. */
  get log(): string {
    return this.#log.join("");
  }

  async start(): Promise<void> {
    // Session cwds in these tests are temporary directories: allow them to be served.
    const args = ["serve", "--bind", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--files-root", tmpdir()];
    if (!this.watch) args.push("--no-watch");
    args.push(...this.extraArgs);
    const child = spawn(serverBinary(), args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
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
        const res = await fetch(`${this.url}/api/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`chainwatch did not answer /api/health within 20 s:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills the process (SIGKILL by default: nothing graceful) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and removes its data dir. */
  async dispose(): Promise<void> {
    await this.kill("SIGTERM");
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface Reply<T> {
  status: number;
  body: T;
}

/** A REST call as an agent or a hook makes it. */
export async function rest<T = unknown>(server: ChainwatchServer, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const init: RequestInit = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { Accept: "application/json", "Content-Type": "application/json" };
  }
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text === "" ? undefined : JSON.parse(text)) as T };
}

/** Like rest(), but fails unless the status is the one expected. */
export async function ok<T = unknown>(
  server: ChainwatchServer,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
): Promise<T> {
  const reply = await rest<T>(server, method, path, body);
  if (reply.status !== status) {
    throw new Error(`${method} ${path}: expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

/** Posts events as an agent does (one array, ≤ 10,000); fails unless the server answers 201. */
export async function postEvents(server: ChainwatchServer, events: readonly object[]): Promise<void> {
  await ok(server, "POST", "/api/events", events, 201);
}

export interface BrowserOptions {
  /** Default 1280×800. */
  viewport?: { width: number; height: number };
  /** Playwright's default timeout for actions and waits, in ms (default 10 s). */
  timeout?: number;
}

/** A Chromium with a fresh profile; close() removes the profile. */
export class Browser {
  private constructor(
    readonly context: BrowserContext,
    readonly profile: string,
  ) {}

  /** Uncaught page errors and CSP violations seen on any page: both are bugs. */
  readonly problems: string[] = [];

  static async launch(options: BrowserOptions = {}): Promise<Browser> {
    const profile = tempDir("chainwatch-browser-profile-");
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: options.viewport ?? { width: 1280, height: 800 },
      colorScheme: "light",
      reducedMotion: "reduce",
    });
    context.setDefaultTimeout(options.timeout ?? 10_000);
    return new Browser(context, profile);
  }

  /** A new tab on the dashboard (or `hash` in it), once its socket is live. */
  async open(server: ChainwatchServer, hash = "#/"): Promise<Page> {
    const page = await this.context.newPage();
    page.on("pageerror", (err) => this.problems.push(`page error: ${err.message}`));
    page.on("console", (msg: ConsoleMessage) => {
      if (msg.type() === "error" && /Content Security Policy|Refused to/i.test(msg.text())) this.problems.push(`CSP: ${msg.text()}`);
    });
    await page.goto(`${server.pageUrl}/${hash}`);
    await waitLive(page);
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

/** Waits until the page's connection badge says the socket is live. */
export async function waitLive(page: Page, timeout = 10_000): Promise<void> {
  await page.locator('.connection[data-state="open"]').waitFor({ timeout });
}

/** Goes to a view by changing the hash (the page is not reloaded). */
export async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
}

/** Marks the page's JS context: if the page ever reloads, the mark is gone. */
export async function mark(page: Page): Promise<string> {
  const token = Math.random().toString(36).slice(2);
  await page.evaluate((t) => {
    (window as unknown as { chainwatchTestMark?: string }).chainwatchTestMark = t;
  }, token);
  return token;
}

export async function markOf(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (window as unknown as { chainwatchTestMark?: string }).chainwatchTestMark);
}

/** The live list's rows, as session ids in display order. */
export async function liveRowIds(page: Page): Promise<string[]> {
  return page
    .locator('table[aria-label="Live sessions"] tbody tr')
    .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset["sessionId"] ?? ""));
}
