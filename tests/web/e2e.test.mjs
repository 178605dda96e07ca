// The browser client end to end, in Debian's Chromium: register, talk to a finished story
// (its first page shown as it is written: the words, then the picture, then the play button),
// see every picture decode and the narration load, play it, try a page again, find the story
// in the library after a reload, sign out, with the socket dropped mid-story (it reconnects
// with `last_seq` and shows nothing twice) — with no console errors and no CSP violations. Then the client's two
// harder duties: staying signed in while access tokens expire (one refresh per expiry), and
// refetching what a reconnect could not replay (`session {resumed: false}`). Needs the storymimi
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

function startServer(env = {}) {
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
      ...env,
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

function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"],
  });
}

/// Console errors, page errors and CSP violations of `page`, collected into the returned list.
async function watchProblems(page) {
  const problems = [];
  page.on("console", (m) => {
    // Playwright's WebSocket route relays each close in both directions; Chromium then reports
    // the second one. That is the test's proxy, not the page.
    if (m.type() === "error" && !m.text().includes("Close received after close")) problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

async function cspWatch(page) {
  await page.evaluate(() => document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP: ${e.violatedDirective}`)));
}

async function signUp(page) {
  await page.getByTestId("email").fill("parent@example.com");
  await page.getByTestId("password").fill("correct horse battery");
  await page.getByTestId("register").click();
  await page.getByTestId("message-input").waitFor();
}

/// The child says `text` and waits for Mimi's whole answer (a question).
async function say(page, text) {
  const before = await page.getByTestId("agent-message").count();
  await page.getByTestId("message-input").fill(text);
  await page.getByTestId("send").click();
  await page.waitForFunction((n) => {
    const replies = document.querySelectorAll('[data-testid="agent-message"]');
    return replies.length > n && replies[replies.length - 1].textContent.endsWith("?");
  }, before);
}

/// Talk until Mimi has a whole two-part story to make.
async function agreeOnAStory(page) {
  await say(page, "a brave dragon called Pip");
  await say(page, "in a castle");
  await say(page, "make it funny");
  await say(page, "two parts please");
  assert.match(await page.getByTestId("requirements").textContent(), /Pip/);
}

/// Wait until `condition()` (which may be async) holds.
async function until(what, condition, ms) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("a parent and child make, read and keep a story in the browser", { timeout: 180_000 }, async () => {
  assert.ok(BIN, "STORYMIMI_BIN names the storymimi binary");
  const { server, base } = await startServer();
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = await watchProblems(page);
    // Every conversation socket goes through here, so the test can drop one.
    let live = null;
    await page.routeWebSocket(/\/conversation\//, (ws) => {
      ws.connectToServer();
      live = ws;
    });
    await page.goto(base);
    await cspWatch(page);
    await signUp(page);
    await agreeOnAStory(page);

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

    // "Try this page again": the page keeps showing until the new one is stored, then the
    // reader shows the new words and picture on the same page.
    const first = page.locator('#reader [data-testid="scene"]').first();
    const before = { text: await first.getByTestId("scene-text").textContent(), src: await first.getByTestId("scene-image").getAttribute("src") };
    await first.getByTestId("redo-scene").click();
    await page.waitForFunction(() => document.querySelector('#reader [data-testid="redo-status"]').textContent.includes("again"));
    await page.waitForFunction((old) => {
      const now = document.querySelector('#reader [data-testid="scene"] [data-testid="scene-text"]');
      return now && now.textContent !== old;
    }, before.text, { timeout: 60_000 });
    const after = page.locator('#reader [data-testid="scene"]').first();
    assert.notEqual(await after.getByTestId("scene-image").getAttribute("src"), before.src, "a new picture");
    assert.ok(await after.isVisible(), "still on the same page");
    await after.getByTestId("scene-image").evaluate((el) => el.decode());

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

test("the first page shows its words as they are written, then its picture, then its play button", { timeout: 120_000 }, async () => {
  assert.ok(BIN, "STORYMIMI_BIN names the storymimi binary");
  // A picture takes longer than a text, a narration longer than a picture, as with real models.
  const { server, base } = await startServer({
    STORYMIMI_BUILTIN_IMAGE_DELAY_MS: "900",
    STORYMIMI_BUILTIN_SPEECH_DELAY_MS: "1800",
  });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = await watchProblems(page);
    await page.goto(base);
    await cspWatch(page);
    await signUp(page);
    await agreeOnAStory(page);
    // What the child sees of the first page, and when.
    await page.evaluate(() => {
      const seen = (window.firstPage = { texts: [], picture: null, play: null });
      new MutationObserver(() => {
        const first = document.querySelector('#live-scenes [data-testid="scene"][data-sequence="1"]');
        if (!first) return;
        const now = performance.now();
        const text = first.querySelector('[data-testid="scene-text"]').textContent;
        if (text && seen.texts.at(-1)?.text !== text) seen.texts.push({ text, at: now });
        const img = first.querySelector('[data-testid="scene-image"]');
        if (seen.picture === null && !img.hidden && img.getAttribute("src")) seen.picture = now;
        if (seen.play === null && first.querySelector('[data-testid="scene-audio"]')) seen.play = now;
      }).observe(document.getElementById("live-scenes"), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByTestId("make-story").click();
    await page.locator('#reader [data-testid="scene"]').first().waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => window.firstPage);
    assert.ok(seen.texts.length >= 3, `the words came a sentence at a time: ${JSON.stringify(seen.texts)}`);
    const whole = seen.texts.at(-1).text;
    assert.ok(seen.texts.every((t) => whole.startsWith(t.text)), "each time more of the same page");
    assert.ok(seen.picture !== null && seen.texts[0].at < seen.picture, "the words before the picture");
    const reader = await page.locator('#reader [data-testid="scene-text"]').first().textContent();
    assert.equal(reader, whole, "the page the reader opens says what was shown");
    if (await page.locator('#reader [data-testid="scene-audio"]').count()) {
      assert.ok(seen.play !== null && seen.picture < seen.play, "the picture before the play button");
    }
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.kill();
  }
});

test("the child stays signed in while the access token expires twice, one refresh per expiry", { timeout: 120_000 }, async () => {
  assert.ok(BIN, "STORYMIMI_BIN names the storymimi binary");
  // Eight-second access tokens: two expiries in under twenty seconds.
  const { server, base } = await startServer({ STORYMIMI_ACCESS_TOKEN_TTL_SECS: "8" });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = await watchProblems(page);
    const refreshes = [];
    const expiries = [];
    let sockets = 0;
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/auth/refresh") refreshes.push(Date.now());
    });
    await page.routeWebSocket(/\/conversation\//, (ws) => {
      sockets += 1;
      const upstream = ws.connectToServer();
      upstream.onClose((code, reason) => {
        if (code === 4001) expiries.push(Date.now());
        ws.close({ code, reason });
      });
    });
    await page.goto(base);
    await cspWatch(page);
    await signUp(page);
    await say(page, "a brave dragon called Pip");

    // The server closes the socket when the token it was opened with expires (4001); the page
    // comes back each time with a fresh token.
    await until("two expiries and a socket after each", () => expiries.length >= 2 && sockets >= 3, 60_000);
    await page.waitForFunction(() => document.getElementById("connection").textContent === "");
    assert.equal(refreshes.length, expiries.length, `one refresh per expiry: ${refreshes.length} refreshes, ${expiries.length} expiries`);
    // Still signed in, and still talking over the newest socket.
    assert.ok(await page.locator("#signin").isHidden(), "the sign-in form stays hidden");
    await say(page, "in a castle");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.kill();
  }
});

test("a reconnect told resumed:false refetches the story in progress", { timeout: 120_000 }, async () => {
  assert.ok(BIN, "STORYMIMI_BIN names the storymimi binary");
  // A ring of two events: what happens while the page is away cannot be replayed.
  const { server, base } = await startServer({ STORYMIMI_CONVERSATION_RING_SIZE: "2" });
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = await watchProblems(page);
    // While `away`, the page's socket reaches nobody (open, silent): the network is gone.
    let away = false;
    let live = null;
    await page.routeWebSocket(/\/conversation\//, (ws) => {
      if (!away) ws.connectToServer();
      live = ws;
    });
    await page.goto(base);
    await cspWatch(page);
    await signUp(page);
    await agreeOnAStory(page);
    await page.getByTestId("make-story").click();
    await page.getByTestId("story-progress").waitFor();

    away = true;
    const dropped = live;
    await dropped.close({ code: 4000, reason: "network went away" });
    await until("the page to reconnect into the void", () => live !== dropped, 10_000);
    // The story is written meanwhile: far more events than the ring keeps.
    const { access_token: token, user_id: user } = await login(base);
    await until("the story to be written", async () => {
      const { stories } = await (await fetch(`${base}/users/${user}/stories`, { headers: { authorization: `Bearer ${token}` } })).json();
      return stories[0]?.status === "completed";
    }, 60_000);

    away = false;
    await live.close({ code: 4000, reason: "network is back" });
    // Told `resumed: false`, the page fetches the story over REST and opens it.
    await page.locator('#reader [data-testid="scene"]').first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#reader [data-testid="scene"]').count(), 2);
    assert.match(await page.getByTestId("library-item").first().textContent(), /completed/);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.kill();
  }
});

/// Tokens of the test's own (a second sign-in of the same account).
async function login(base) {
  const response = await fetch(`${base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "parent@example.com", password: "correct horse battery" }),
  });
  assert.equal(response.status, 200);
  return response.json();
}
