// Layouts that hold: at desktop widths (1280 and 1920 px) nothing is clipped, and on a
// phone (390 px) the list, Needs you and a session's page work without sideways
// scrolling, with touch targets of at least 44 px. Checked on a replayed realistic
// session (five subagents' worth of steps, a long end-of-turn message, a waiting
// permission) against the real server; the screenshots go to docs/screenshots/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realisticSession, writeCwd, type NewEvent } from "./detail/session";
import { Browser, ChainwatchServer, ok, postEvents, REPO_DIR, tempDir } from "./harness";

const SHOTS = join(REPO_DIR, "docs", "screenshots");
const write = process.env["CHAINWATCH_SCREENSHOTS"] !== "0";

let server: ChainwatchServer;
let cwd: string;
const ID = "layout-1";

/** Problems a page shows now: sideways scrolling, clipped text, small touch targets. */
async function audit(page: Page, opts: { touch: boolean }): Promise<string[]> {
  return page.evaluate((touch) => {
    const problems: string[] = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > doc.clientWidth + 1) problems.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const describe = (el: Element) => {
      const h = el as HTMLElement;
      const cls = typeof h.className === "string" && h.className !== "" ? `.${h.className.trim().split(/\s+/).join(".")}` : "";
      return `${el.tagName.toLowerCase()}${cls} "${(h.innerText ?? "").trim().slice(0, 40)}"`;
    };
    for (const el of Array.from(document.querySelectorAll("body *"))) {
      const h = el as HTMLElement;
      if (h.offsetParent === null || h.closest(".visually-hidden,svg,pre,code,.timeline__scroll,.terminal__entries,.md--block,.file-content,.json,.diff,[data-scroll-x]") !== null) continue;
      const style = getComputedStyle(h);
      const rect = h.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0) continue;
      // Text cut without an ellipsis (or cut with one and no way to read the rest).
      const hidden = style.overflowX === "hidden" || style.overflowX === "clip";
      if (hidden && h.scrollWidth > h.clientWidth + 2 && h.childElementCount === 0 && (h.innerText ?? "").trim() !== "") {
        const titled = h.closest("[title]") !== null;
        if (style.textOverflow !== "ellipsis" || !titled) problems.push(`clipped: ${describe(h)} (${h.scrollWidth} > ${h.clientWidth})`);
      }
      // Out of the viewport to the right.
      if (rect.right > doc.clientWidth + 1 && style.position !== "fixed" && h.closest("[data-scroll-x],table,.detail-tabs,.chips") === null) {
        problems.push(`past the right edge: ${describe(h)} (${Math.round(rect.right)} > ${doc.clientWidth})`);
      }
      if (touch && h.matches("button,a[href],input:not([type=checkbox]):not([type=radio]),select,summary,[role=button],[role=tab]")) {
        if (h.closest(".md,.timeline__scroll,svg,.visually-hidden") !== null) continue;
        if (rect.height < 43.5) problems.push(`touch target ${Math.round(rect.width)}×${Math.round(rect.height)}: ${describe(h)}`);
      }
    }
    return [...new Set(problems)].slice(0, 30);
  }, opts.touch);
}

async function shot(page: Page, name: string): Promise<void> {
  if (!write) return;
  mkdirSync(SHOTS, { recursive: true });
  // The phone's list shows its cards below Needs you: the whole page.
  await page.screenshot({ path: join(SHOTS, name), fullPage: name === "phone-sessions.png" });
}

beforeAll(async () => {
  server = await ChainwatchServer.start();
  cwd = tempDir("chainwatch-layout-cwd-");
  writeCwd(cwd);
  const session = realisticSession(ID, cwd);
  await postEvents(server, session.events as NewEvent[]);
  // A long end-of-turn message in one session, a risky permission in another.
  await postEvents(server, [
    {
      sessionId: ID,
      type: "interaction:awaiting-input",
      requestId: "stop-layout",
      prompt: `## Done\n\nI added retries to \`login()\`:\n\n${Array.from({ length: 40 }, (_, i) => `- step ${i + 1}: a line of the summary that goes on for a while`).join("\n")}`,
    },
    { sessionId: "layout-2", type: "session:started", cwd: "/home/ada/projects/a-rather-long-folder-name-for-a-repository/services/payments", title: "Release the payments service with the new currency rounding rules" },
    { sessionId: "layout-2", type: "permission:requested", requestId: "perm-push", toolName: "Bash", toolInput: { command: "git push --force origin main", description: "Force-push the rewritten history" } },
  ]);
  await ok(server, "POST", "/api/sessions", { id: "layout-ended", cwd: "/srv/ci/work/a-very-long-directory-name/for-history/checks", user: "grace", hostname: "ci-runner-with-a-long-name-07", title: "A finished session with a long title that must not overflow the History table" }, 201);
  await ok(server, "POST", "/api/sessions/layout-ended/end", { status: "completed" });
});

afterAll(async () => {
  await server?.dispose();
});

/** The views whose screenshots the README shows. */
const SHOT_NAMES: Record<string, string> = {
  "list@390": "phone-sessions.png",
  "needs-you@390": "phone-needs-you.png",
  "session@390": "phone-session.png",
  "session@1280": "desktop-session.png",
};

const VIEWS: { name: string; hash: string; ready: string }[] = [
  { name: "list", hash: "#/", ready: 'table[aria-label="Live sessions"] tr[data-session-id]' },
  { name: "needs-you", hash: "#/needs-you", ready: ".needs-you__list li" },
  { name: "session", hash: `#/sessions/${ID}`, ready: ".tl-row" },
  { name: "graph", hash: `#/sessions/${ID}?tab=graph`, ready: ".graph-node" },
  { name: "files", hash: `#/sessions/${ID}?tab=files`, ready: ".file-item" },
  { name: "history", hash: "#/history", ready: 'table[aria-label="Ended sessions"] tr[data-session-id]' },
];

for (const width of [1280, 1920, 390]) {
  describe(`at ${width} px`, () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await Browser.launch({ viewport: { width, height: width === 390 ? 844 : 900 } });
    });
    afterAll(async () => {
      await browser?.close();
    });

    for (const view of VIEWS) {
      it(`${view.name}: no sideways scrolling, nothing clipped${width === 390 ? ", 44 px touch targets" : ""}`, async () => {
        const page = await browser.open(server, view.hash);
        await page.locator(view.ready).first().waitFor();
        await page.waitForTimeout(300);
        const name = SHOT_NAMES[`${view.name}@${width}`];
        if (name !== undefined) await shot(page, name);
        expect(await audit(page, { touch: width === 390 })).toEqual([]);
        await page.close();
      });
    }

    if (width === 390) {
      it("session: every timeline row shows which agent did it, as a short mark", async () => {
        const page = await browser.open(server, `#/sessions/${ID}`);
        await page.locator(".tl-row").first().waitFor();
        const marks = await page.locator(".tl-row").evaluateAll((rows) =>
          rows.map((r) => {
            const mark = r.querySelector(".tl-row__agent-short") as HTMLElement | null;
            const box = mark?.getBoundingClientRect();
            return { text: mark?.innerText.trim() ?? "", shown: box !== undefined && box.width > 0 && box.right <= window.innerWidth };
          }),
        );
        expect(marks.length).toBeGreaterThan(5);
        expect(marks.filter((m) => !m.shown || m.text === "")).toEqual([]);
        // Subagents read A1, A2… (as in the agent filter), the main agent "main".
        expect(new Set(marks.map((m) => m.text)).has("main")).toBe(true);
        expect(marks.some((m) => /^A\d+$/.test(m.text))).toBe(true);
        await page.close();
      });
    }
  });
}
