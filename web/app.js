// StoryMimi in the browser: sign in, talk with Mimi over the WebSocket, watch the story being
// made, read and listen to it, keep a library. Also the living reference client of the
// protocol: keep the highest `seq` seen, drop events at or below it, reconnect with `last_seq`;
// the `session` that follows says whether that was everything (`resumed: true`) or whether to
// refetch over REST (`resumed: false`).

const $ = (id) => document.getElementById(id);
const session = { token: null, refresh: sessionStorage.getItem("refresh"), user: null, expiresAt: 0 };
let socket = null;
let highestSeq = 0;
let reconnectDelay = 500;
let replies = new Map(); // message_id → bubble
let reader = { story: null, index: 0, playingAll: false };
let storyInProgress = null; // the id of the story being made, to refetch after a gap
// Each refresh token works once, and presenting a used one signs the child out everywhere: so
// one refresh at a time (everyone who needs one shares the one in flight) and one timer.
let refreshing = null;
let refreshTimer = null;
let started = false; // signed in and the page is running

// A promise nobody waited for failed: say so instead of failing silently.
window.addEventListener("unhandledrejection", (event) => {
  $("connection").textContent = `Something went wrong: ${event.reason?.message || event.reason}`;
});

function show(section) {
  for (const id of ["signin", "talk", "reader", "library"]) $(id).hidden = !section.includes(id);
  $("logout").hidden = !session.token;
}

async function api(path, options = {}) {
  const headers = { "content-type": "application/json", ...(options.headers || {}) };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error?.message || `request failed (${response.status})`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/// Keep fresh tokens, and schedule the one refresh shortly before the access token expires
/// (a fifth of its life ahead, at most a minute).
function keepTokens(tokens) {
  session.token = tokens.access_token;
  session.refresh = tokens.refresh_token;
  session.user = tokens.user_id;
  session.expiresAt = Date.now() + tokens.expires_in * 1000;
  sessionStorage.setItem("refresh", session.refresh);
  const lead = Math.min(60_000, tokens.expires_in * 200);
  refreshAfter(Math.max(1_000, tokens.expires_in * 1000 - lead));
}

function refreshAfter(ms) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, ms);
}

/// Fresh tokens arrived (sign-in, sign-up, refresh): keep them, and start the page once.
function signedIn(tokens) {
  keepTokens(tokens);
  if (started) return;
  started = true;
  show(["talk", "library"]);
  connect();
  loadLibrary();
}

/// Fresh tokens: the refresh in flight if there is one, else a new one. A refused refresh token
/// ends the session; a server that cannot answer now (restarting, offline) is asked again soon.
function refresh() {
  refreshing ??= (async () => {
    if (!session.refresh) return;
    try {
      signedIn(await api("/auth/refresh", { method: "POST", body: JSON.stringify({ refresh_token: session.refresh }) }));
    } catch (error) {
      if (error.status >= 400 && error.status < 500) ended("Your session ended. Please sign in again.");
      else {
        $("connection").textContent = "Offline — trying again…";
        refreshAfter(2_000);
      }
    }
  })().finally(() => { refreshing = null; });
  return refreshing;
}

/// Close our socket first (and for good): a close from both ends at once is an error in browsers.
function hangUp() {
  if (socket) {
    socket.onclose = null;
    socket.close(1000);
  }
  socket = null;
}

function ended(message) {
  started = false;
  highestSeq = 0;
  storyInProgress = null;
  session.token = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem("refresh");
  hangUp();
  session.refresh = null;
  $("signin-error").textContent = message || "";
  show(["signin"]);
}

async function signIn(path) {
  $("signin-error").textContent = "";
  const email = $("email").value.trim();
  const password = $("password").value;
  try {
    signedIn(await api(path, { method: "POST", body: JSON.stringify({ email, password }) }));
  } catch (error) {
    $("signin-error").textContent = error.message;
  }
}

// --- the conversation -------------------------------------------------------------------

function connect() {
  if (!session.token) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const resume = highestSeq ? `&last_seq=${highestSeq}` : "";
  socket = new WebSocket(`${scheme}://${location.host}/conversation/${session.user}?access_token=${encodeURIComponent(session.token)}${resume}`);
  socket.onopen = () => { $("connection").textContent = ""; reconnectDelay = 500; };
  socket.onmessage = (message) => handle(JSON.parse(message.data));
  socket.onclose = async (event) => {
    if (!session.token) return;
    $("connection").textContent = "Offline — reconnecting…";
    // The token the socket was opened with expired. Usually the timer has refreshed it already:
    // then reconnect with the fresh one, without asking again.
    if (event.code === 4001 && Date.now() > session.expiresAt - 2_000) await refresh();
    setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 10_000);
  };
}

function handle(event) {
  if (typeof event.seq === "number") {
    if (event.seq <= highestSeq) return; // seen already
    highestSeq = event.seq;
  }
  switch (event.type) {
    case "session": resumed(event); break;
    case "agent_delta": bubble(event.message_id).textContent += event.delta; break;
    case "agent_message": bubble(event.message_id).textContent = event.content; break;
    case "requirements": showRequirements(event); break;
    case "story_started":
      storyInProgress = event.story_id;
      $("progress").hidden = false;
      $("progress-status").textContent = "Your story is on its way…";
      $("live-scenes").replaceChildren();
      break;
    case "story_progress": showProgress(event); break;
    // A scene as it is made: its sentences as they are written, its whole text (which replaces
    // them), its picture, its narration, then the stored scene.
    // A page of the story open in the reader being redone stays as it is until it is stored.
    case "scene_delta": if (!redoing(event)) sceneText(liveScene(event.story_id, event.sequence)).textContent += event.delta; break;
    case "scene_text": {
      if (redoing(event)) break;
      const article = liveScene(event.story_id, event.sequence);
      sceneText(article).textContent = event.text;
      article.querySelector("img").alt = event.title;
      break;
    }
    case "scene_media": if (!redoing(event)) showMedia(liveScene(event.story_id, event.sequence), event); break;
    case "scene_ready": if (redoing(event)) pageRedone(event.scene); else sceneReady(event); break;
    case "story_completed": storyDone(event.story_id); break;
    case "story_failed": storyFailed(event.error); break;
    case "error": $("connection").textContent = event.message; break;
    default: break;
  }
}

/// The `session` that ends every (re)connect: with `resumed: false` some events are not coming
/// (or this is a first connect), so what they would have said is fetched over REST.
function resumed(event) {
  if (event.resumed) return;
  highestSeq = event.last_seq;
  refetch();
}

async function refetch() {
  const stories = await loadLibrary();
  storyInProgress ??= stories.find((s) => s.status === "pending" || s.status === "processing")?.story_id;
  if (!storyInProgress) return;
  const story = await api(`/stories/${storyInProgress}`);
  if (story.status === "completed") return storyDone(story.story_id);
  if (story.status === "failed") return storyFailed(story.error);
  showProgress({ stage: story.stage, scenes_done: story.scenes.length, scenes_total: story.num_scenes });
  // Only stored scenes come over REST: what was shown of the others is dropped.
  $("live-scenes").replaceChildren();
  for (const scene of story.scenes) sceneReady({ story_id: story.story_id, scene });
}

function bubble(id) {
  if (!replies.has(id)) {
    const li = document.createElement("li");
    li.className = "agent";
    li.dataset.testid = "agent-message";
    $("bubbles").append(li);
    replies.set(id, li);
  }
  return replies.get(id);
}

function say(text) {
  if (!text.trim() || !socket || socket.readyState !== WebSocket.OPEN) return;
  const li = document.createElement("li");
  li.className = "child";
  li.textContent = text;
  $("bubbles").append(li);
  socket.send(JSON.stringify({ type: "user_message", content: text, client_id: crypto.randomUUID() }));
}

function showRequirements(r) {
  const people = r.characters.map((c) => [c.name, c.kind].filter(Boolean).join(" the ")).join(", ");
  const lines = [
    ["Who", people], ["Where", r.setting], ["Kind of story", r.style], ["Parts", r.num_scenes],
  ];
  const card = $("requirements");
  card.replaceChildren(...lines.map(([label, value]) => {
    const p = document.createElement("p");
    p.textContent = `${label}: ${value || "…"}`;
    return p;
  }));
  $("make-story").disabled = !r.ready;
}

function showProgress(p) {
  $("progress").hidden = false;
  const words = { planning: "Planning the story", writing: "Writing", illustrating: "Drawing pictures", narrating: "Recording the voice", done: "Done" };
  $("progress-status").textContent = `${words[p.stage] || p.stage}: ${p.scenes_done} of ${p.scenes_total} parts ready`;
}

/// A scene's page: the picture (hidden until there is one), the text, the play button.
function sceneElement(scene) {
  const article = document.createElement("article");
  article.className = "scene card";
  article.dataset.testid = "scene";
  article.dataset.sequence = scene.sequence;
  const img = document.createElement("img");
  img.dataset.testid = "scene-image";
  img.alt = scene.title;
  img.hidden = true;
  const text = document.createElement("p");
  text.dataset.testid = "scene-text";
  text.textContent = scene.text;
  article.append(img, text);
  showMedia(article, scene);
  return article;
}

const sceneText = (article) => article.querySelector('[data-testid="scene-text"]');

/// Show a scene's picture and play button as they become known.
function showMedia(article, { image_url, audio_url }) {
  if (image_url) {
    const img = article.querySelector("img");
    img.src = image_url;
    img.hidden = false;
  }
  if (audio_url && !article.querySelector("audio")) {
    const audio = document.createElement("audio");
    audio.dataset.testid = "scene-audio";
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = audio_url;
    audio.onended = () => { if (reader.playingAll) turn(1, true); };
    article.append(audio);
  }
}

/// The page of a scene being made, in order among the others (made on its first news).
function liveScene(storyId, sequence) {
  const pages = [...$("live-scenes").children];
  let article = pages.find((a) => a.dataset.storyId === storyId && Number(a.dataset.sequence) === sequence);
  if (!article) {
    article = sceneElement({ sequence, title: "", text: "" });
    article.dataset.storyId = storyId;
    $("live-scenes").insertBefore(article, pages.find((a) => Number(a.dataset.sequence) > sequence) || null);
  }
  return article;
}

/// A scene is stored: its page shows it as stored.
function sceneReady(event) {
  const page = sceneElement(event.scene);
  page.dataset.storyId = event.story_id;
  liveScene(event.story_id, event.scene.sequence).replaceWith(page);
}

async function storyDone(id) {
  storyInProgress = null;
  $("progress").hidden = true;
  await loadLibrary();
  // A page redone: the reader stays on the page it showed.
  await openStory(id, reader.story?.story_id === id ? reader.index : 0);
}

function storyFailed(error) {
  storyInProgress = null;
  $("progress").hidden = false;
  $("progress-status").textContent = `Oh no: ${error}`;
  loadLibrary();
}

// --- the reader -------------------------------------------------------------------------

async function openStory(id, index = 0) {
  reader = { story: await api(`/stories/${id}`), index, playingAll: false };
  $("reader-title").textContent = reader.story.title;
  $("scenes").replaceChildren(...reader.story.scenes.map(readerPage));
  show(["reader"]);
  turn(0, false);
}

/// A page in the reader, with its "try this page again" button.
function readerPage(scene) {
  const article = sceneElement(scene);
  const again = document.createElement("button");
  again.type = "button";
  again.dataset.testid = "redo-scene";
  again.textContent = "↻ Try this page again";
  const status = document.createElement("p");
  status.dataset.testid = "redo-status";
  status.setAttribute("role", "status");
  again.onclick = async () => {
    again.disabled = true;
    status.textContent = "Mimi is making this page again…";
    try {
      await api(`/stories/${reader.story.story_id}/scenes/${scene.sequence}/regenerate`, { method: "POST", body: "{}" });
    } catch (error) {
      status.textContent = error.message;
      again.disabled = false;
    }
  };
  article.append(again, status);
  return article;
}

const redoing = (event) => reader.story?.story_id === event.story_id && event.story_id !== storyInProgress;

/// A redone page is stored: the reader shows it in place of the old one.
function pageRedone(scene) {
  const old = [...$("scenes").children].find((a) => Number(a.dataset.sequence) === scene.sequence);
  if (!old) return;
  const page = readerPage(scene);
  page.hidden = old.hidden;
  old.replaceWith(page);
}

function turn(step, play) {
  const scenes = [...$("scenes").children];
  if (!scenes.length) return;
  scenes.forEach((s) => s.querySelector("audio")?.pause());
  const next = reader.index + step;
  if (next < 0 || next >= scenes.length) { reader.playingAll = false; return; }
  reader.index = next;
  scenes.forEach((s, i) => { s.hidden = i !== next; });
  if (play) scenes[next].querySelector("audio")?.play().catch(() => {});
}

// --- the library ------------------------------------------------------------------------

/// Show the story list; returns it.
async function loadLibrary() {
  if (!session.user) return [];
  const { stories } = await api(`/users/${session.user}/stories?limit=50`);
  $("stories").replaceChildren(...stories.map((s) => {
    const li = document.createElement("li");
    li.dataset.testid = "library-item";
    li.dataset.storyId = s.story_id;
    if (s.cover_image_url) {
      const img = document.createElement("img");
      img.src = s.cover_image_url;
      img.alt = "";
      li.append(img);
    }
    const title = document.createElement("span");
    title.className = "grow";
    title.textContent = `${s.title || "A new story"} — ${s.status}`;
    li.append(title);
    const action = (label, onclick) => {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.onclick = onclick;
      li.append(b);
    };
    if (s.status === "completed") action("Read", () => openStory(s.story_id));
    if (s.status === "failed") action("Try again", async () => { await api(`/stories/${s.story_id}/retry`, { method: "POST", body: "{}" }); loadLibrary(); });
    action("Delete", async () => {
      if (confirm(`Delete "${s.title || "this story"}"?`)) { await api(`/stories/${s.story_id}`, { method: "DELETE" }); loadLibrary(); }
    });
    return li;
  }));
  return stories;
}

// --- wiring -----------------------------------------------------------------------------

$("signin-form").onsubmit = (e) => { e.preventDefault(); signIn("/auth/login"); };
$("register").onclick = () => { if ($("signin-form").reportValidity()) signIn("/auth/register"); };
$("logout").onclick = async () => {
  hangUp();
  await api("/auth/logout", { method: "POST", body: JSON.stringify({ refresh_token: session.refresh }) }).catch(() => {});
  ended("");
};
$("say-form").onsubmit = (e) => { e.preventDefault(); say($("message").value); $("message").value = ""; };
$("stop").onclick = () => socket?.send(JSON.stringify({ type: "cancel" }));
$("make-story").onclick = () => socket?.send(JSON.stringify({ type: "start_story" }));
$("prev").onclick = () => turn(-1, false);
$("next").onclick = () => turn(1, false);
$("play-all").onclick = () => { reader.playingAll = true; turn(0, true); };
$("close-reader").onclick = () => show(["talk", "library"]);
document.addEventListener("keydown", (e) => {
  if ($("reader").hidden || e.target.tagName === "INPUT") return;
  if (e.key === "ArrowRight") turn(1, false);
  if (e.key === "ArrowLeft") turn(-1, false);
  if (e.key === " ") {
    e.preventDefault();
    const audio = $("scenes").children[reader.index]?.querySelector("audio");
    if (audio) audio.paused ? audio.play().catch(() => {}) : audio.pause();
  }
});

// Speech: partial results as `partial_transcript`, the final one as `user_message`.
const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
if (Recognition) {
  const mic = $("mic");
  mic.hidden = false;
  const recognition = new Recognition();
  recognition.interimResults = true;
  recognition.onresult = (event) => {
    const result = event.results[event.results.length - 1];
    const text = result[0].transcript;
    if (result.isFinal) say(text);
    else socket?.send(JSON.stringify({ type: "partial_transcript", content: text }));
  };
  recognition.onend = () => mic.setAttribute("aria-pressed", "false");
  mic.onclick = () => { mic.setAttribute("aria-pressed", "true"); recognition.start(); };
}

// A refresh token from this tab's earlier visit signs straight back in.
if (session.refresh) {
  refresh();
} else {
  show(["signin"]);
}
