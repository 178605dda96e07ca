// The browser client end to end, in Debian's Chromium: register, talk to a finished story,
// see every picture decode and the narration load, play it, find the story in the library after
// a reload, sign out, with the socket dropped mid-story (it reconnects with `last_seq` and
// shows nothing twice) — with no console errors and no CSP violations. Needs the storymimi
// binary (STORYMIMI_BIN) and /usr/bin/chromium.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BIN = process.env.STORYMIMI_BIN;
const SHOTS = process.env.STORYMIMI_SCREENSHOTS || "target/web";

function startServer() {
  const data = mkdtempSync(join(tmpdir(), "storymimi-web-"));
  const server = spawn(BIN, [], {
    env: {
      ...process.env,
      STORYMIMI_ADDR: "127.0.0.1:0",
      STORYMIMI_DATA_DIR: data,
      STORYMIMI_ENV: "production",
      STORYMIMI_JWT_SECRET: "web-test-secret-0123456789abcdefghij",
      STORYMIMI_CONFIG: join(data, "none.toml"),
      STORYMIMI_AGENT_DELTA_DELAY_MS: "5",
      // Slow enough that the socket can be dropped while the story is being written.
      STORYMIMI_BUILTIN_LLM_DELAY_MS: "400",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    server.stdout.on("data", (chunk) => {
      buffered += chunk;
      for (const line of buffered.split("\n")) {
        try {
          const event = JSON.parse(line);
          if (event.message === "storymimi listening") resolve({ server, base: `http://${event.addr}` });
        } catch {}
      }
    });
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

test("a parent and child make, read and keep a story in the browser", { timeout: 180_000 }, async () => {
  assert.ok(BIN, "STORYMIMI_BIN names the storymimi binary");
  const { server, base } = await startServer();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    // Every conversation socket goes through here, so the test can drop one.
    let live = null;
    await page.routeWebSocket(/\/conversation\//, (ws) => {
      ws.connectToServer();
      live = ws;
    });
    page.on("console", (m) => {
      // Playwright's WebSocket route relays each close in both directions; Chromium then reports
      // the second one. That is the test's proxy, not the page.
      if (m.type() === "error" && !m.text().includes("Close received after close")) problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(base);
    await page.evaluate(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP: ${e.violatedDirective}`)));

    await page.getByTestId("email").fill("parent@example.com");
    await page.getByTestId("password").fill("correct horse battery");
    await page.getByTestId("register").click();
    await page.getByTestId("message-input").waitFor();

    const say = async (text) => {
      const before = await page.getByTestId("agent-message").count();
      await page.getByTestId("message-input").fill(text);
      await page.getByTestId("send").click();
      await page.waitForFunction((n) => {
        const replies = document.querySelectorAll('[data-testid="agent-message"]');
        return replies.length > n && replies[replies.length - 1].textContent.endsWith("?");
      }, before);
    };
    await say("a brave dragon called Pip");
    await say("in a castle");
    await say("make it funny");
    await say("two parts please");
    const requirements = await page.getByTestId("requirements").textContent();
    assert.match(requirements, /Pip/);

    await page.getByTestId("make-story").click();
    await page.getByTestId("story-progress").waitFor();
    // The connection drops while the story is written: the page says so, reconnects with
    // `last_seq`, and shows every scene exactly once.
    const dropped = live;
    await dropped.close({ code: 4000, reason: "network went away" });
    await page.waitForFunction(() => document.getElementById("connection").textContent.includes("Offline"));
    // The reader opens when the story is complete.
    await page.locator('#reader [data-testid="scene"]').first().waitFor({ timeout: 120_000 });
    const scenes = page.locator('#reader [data-testid="scene"]');
    assert.equal(await scenes.count(), 2);
    assert.notEqual(live, dropped, "a new socket was opened after the drop");
    const shownLive = await page.locator('#progress [data-testid="scene"]').evaluateAll((els) => els.map((e) => e.dataset.sequence));
    assert.ok(shownLive.length <= 2 && new Set(shownLive).size === shownLive.length, `each scene shown once: ${shownLive}`);
    for (const img of await page.locator('#reader [data-testid="scene-image"]').all()) {
      await img.evaluate((el) => el.decode());
      assert.ok((await img.evaluate((el) => el.naturalWidth)) > 0, "the picture decoded");
    }
    const audio = page.locator('#reader [data-testid="scene-audio"]').first();
    if (await audio.count()) {
      const duration = await audio.evaluate((el) => new Promise((resolve) => {
        if (el.readyState >= 1) return resolve(el.duration);
        el.addEventListener("loadedmetadata", () => resolve(el.duration), { once: true });
        el.addEventListener("error", () => resolve(-1), { once: true });
      }));
      assert.ok(duration > 0, `narration loaded (${duration} s)`);
      await audio.evaluate((el) => el.play());
      await page.waitForFunction(() => document.querySelector('#reader [data-testid="scene-audio"]').currentTime > 0);
    }
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, "reader.png"), fullPage: true });

    await page.reload();
    await page.getByTestId("library-item").first().waitFor();
    assert.equal(await page.getByTestId("library-item").count(), 1);
    await page.getByTestId("logout").click();
    await page.getByTestId("email").waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.kill();
  }
});
