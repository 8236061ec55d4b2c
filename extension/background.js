// Service worker: owns the one websocket to the server, the persistent outbox of customer/sent
// messages (kept until the server acks them), and which pages the content script runs on.
"use strict";

importScripts("settings.js", "token.js");

const SCRIPT_ID = "empathy-content";
const CONTENT_FILES = ["settings.js", "ui/nudges.js", "content/detect.js", "content/content.js"];
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PING_EVERY_MS = 20000; // websocket traffic keeps the service worker alive (Chrome 116+)

const state = {
  settings: EmpathySettings.normalize(null),
  token: "", // from token.js: never in chrome.storage, never sent to content scripts
  connections: new Map(), // conversation -> Connection
  hellos: new Map(), // conversation -> hello fields from the page (customer_name, site)
  ports: new Set(), // one per frame running the content script
  drafts: new Map(), // draft id -> port that sent it
};

// ---- Outbox: customer and sent messages survive restarts until acked ----
// Kept in chrome.storage.local (on disk) so a browser restart loses nothing; bounded by age and
// size so a server that never comes back cannot fill the disk. docs/extension.md says why.

const OUTBOX_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const OUTBOX_MAX_ENTRIES = 1000;
const OUTBOX_MAX_CHARS = 4_000_000; // well under chrome.storage.local's 10 MB quota
const MAX_FRAME_BYTES = 65536; // the server refuses larger frames without naming them
// After a rate-limited frame, wait this long (the server's burst refills) before resending.
const RATE_LIMITED_RESEND_MS = 2000;

// Errors about a queued message that resending cannot fix: it leaves the outbox.
const PERMANENT_ERRORS = new Set([
  "bad-frame",
  "frame-too-large",
  "internal",
  "unknown-type",
  "not-stored", // the database refused the message for good; resending cannot help
]);
const REJECTED_KEPT = 50;

let outbox = []; // {conversation, hello, frame, queuedAt}
let outboxLoaded = null;
let outboxWrite = Promise.resolve();
let rejected = []; // notes (no text) about messages the server will never store

function loadOutbox() {
  outboxLoaded ??= chrome.storage.local.get("outbox").then((stored) => {
    outbox = [...(stored.outbox || []), ...outbox];
    if (pruneOutbox()) saveOutbox();
  });
  return outboxLoaded;
}

/** A failed write is logged and the chain goes on: the next change writes the whole outbox. */
function saveOutbox() {
  const snapshot = outbox.slice();
  outboxWrite = outboxWrite
    .then(() => chrome.storage.local.set({ outbox: snapshot }))
    .catch((error) => console.error("Empathy Engine: could not store the outbox", error));
  return outboxWrite;
}

function sameMessage(entry, conversation, id) {
  return entry.conversation === conversation && entry.frame.id === id;
}

/** Drop what is too old, then the oldest while over the size caps. True when something went. */
function pruneOutbox() {
  const now = Date.now();
  const dropped = [];
  outbox = outbox.filter((entry) => {
    const fresh = now - (entry.queuedAt ?? now) <= OUTBOX_MAX_AGE_MS;
    if (!fresh) dropped.push({ entry, code: "expired" });
    return fresh;
  });
  let chars = outbox.reduce((sum, entry) => sum + (entry.frame.text?.length || 0), 0);
  while (outbox.length > OUTBOX_MAX_ENTRIES || chars > OUTBOX_MAX_CHARS) {
    const entry = outbox.shift();
    chars -= entry.frame.text?.length || 0;
    dropped.push({ entry, code: "outbox-full" });
  }
  for (const { entry, code } of dropped) reject(entry, code, "dropped from the outbox unsent");
  return dropped.length > 0;
}

/**
 * Remember that a message will never be stored, without its text (the queue is the only place
 * customer text may wait on disk): the popup shows the count, the service worker console the rest.
 */
function reject(entry, code, message) {
  console.warn("Empathy Engine: message not stored", code, message, entry.conversation, entry.frame.id);
  const note = {
    conversation: entry.conversation, id: entry.frame.id, type: entry.frame.type, code,
    message: String(message || "").slice(0, 300), at: Date.now(),
  };
  rejected = [...rejected, note].slice(-REJECTED_KEPT);
  chrome.storage.local.set({ outboxRejected: rejected }).catch(() => {});
}

chrome.storage.local.get("outboxRejected").then((stored) => {
  rejected = [...(stored.outboxRejected || []), ...rejected].slice(-REJECTED_KEPT);
});

async function enqueue(conversation, frame) {
  await loadOutbox();
  if (outbox.some((entry) => sameMessage(entry, conversation, frame.id))) return; // awaiting ack
  const entry = { conversation, hello: state.hellos.get(conversation) || {}, frame, queuedAt: Date.now() };
  if (new TextEncoder().encode(JSON.stringify(frame)).length > MAX_FRAME_BYTES) {
    return reject(entry, "frame-too-large", "larger than the server accepts");
  }
  outbox.push(entry);
  pruneOutbox();
  await saveOutbox();
  connectionFor(conversation).send(frame);
}

async function acked(conversation, id) {
  await loadOutbox();
  const before = outbox.length;
  outbox = outbox.filter((entry) => !sameMessage(entry, conversation, id));
  if (outbox.length !== before) await saveOutbox();
}

/** The server refused a queued message for good: resending would only repeat the refusal. */
async function refused(conversation, frame) {
  await loadOutbox();
  const entry = outbox.find((e) => sameMessage(e, conversation, frame.for));
  if (!entry) return; // a draft or feedback: never queued
  outbox = outbox.filter((e) => e !== entry);
  reject(entry, frame.code, frame.message);
  await saveOutbox();
}

// ---- Connections: the protocol accepts one hello per socket, so one socket per conversation ----

class Connection {
  constructor(conversation) {
    this.conversation = conversation;
    this.socket = null;
    this.ready = false; // hello accepted (the server answered `ready`)
    this.status = "connecting"; // connected | connecting | reconnecting | not-configured
    this.error = "";
    this.attempt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.closed = false;
  }

  open() {
    clearTimeout(this.retryTimer);
    const url = EmpathySettings.websocketUrl(state.settings.serverUrl);
    if (!isConfigured() || !url) return this.setStatus("not-configured");
    this.setStatus(this.attempt ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.error = String(error.message || error);
      return this.retry();
    }
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      const entry = outbox.find((e) => e.conversation === this.conversation);
      const hello = { ...(entry?.hello || {}), ...(state.hellos.get(this.conversation) || {}) };
      socket.send(JSON.stringify({ ...hello, type: "hello", token: state.token, conversation: this.conversation }));
    };
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.ready = false;
      clearInterval(this.pingTimer);
      if (event.code === 1008 && this.error.startsWith("bad-token")) this.setStatus("rejected");
      else this.retry();
    };
  }

  async onReady() {
    this.ready = true;
    this.attempt = 0;
    this.error = "";
    this.setStatus("connected");
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_EVERY_MS);
    await loadOutbox();
    for (const entry of outbox) if (entry.conversation === this.conversation) this.send(entry.frame);
    this.tell({ kind: "resend" }); // the page re-sends its current draft for fresh nudges
  }

  /** Exponential backoff with full jitter, so a restarted server is not hit by every agent at once. */
  retry() {
    if (this.closed) return;
    if (!isConfigured()) return this.setStatus("not-configured");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    this.setStatus("reconnecting");
    this.retryTimer = setTimeout(() => this.open(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.resendTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  send(frame) {
    if (!this.ready || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  setStatus(status) {
    this.status = status;
    this.tell({ kind: "status", status, error: this.error });
  }

  tell(message) {
    for (const port of state.ports) if (port.conversation === this.conversation) safePost(port, message);
  }

  onFrame(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      console.warn("Empathy Engine: ignoring a frame that is not JSON", data);
      return;
    }
    if (frame.type === "ready") this.onReady();
    else if (frame.type === "ack") acked(this.conversation, frame.id);
    else if (frame.type === "nudges") this.routeNudges(frame);
    else if (frame.type === "waiting") this.tell({ kind: "nudges", frame, pushed: true });
    else if (frame.type === "lexicon") this.tell({ kind: "resend" });
    else if (frame.type === "error") this.onError(frame);
  }

  /** Nudges for a draft go to the frame that typed it. */
  routeNudges(frame) {
    const port = state.drafts.get(frame.for);
    if (port) safePost(port, { kind: "nudges", frame });
  }

  onError(frame) {
    this.error = `${frame.code}: ${frame.message}`;
    console.warn("Empathy Engine: server error", frame);
    if (frame.code === "storage-busy" && frame.for) {
      // The server could not take it now: it stays in the outbox; try again shortly.
      setTimeout(() => {
        const entry = outbox.find((e) => sameMessage(e, this.conversation, frame.for));
        if (entry) this.send(entry.frame);
      }, 1000);
    } else if (PERMANENT_ERRORS.has(frame.code) && frame.for) {
      refused(this.conversation, frame);
    } else if (frame.code === "rate-limited") {
      this.resendUnackedSoon();
    }
    this.tell({ kind: "status", status: this.status, error: this.error });
  }

  /** The server drops a frame over its rate limit without reading it (so without saying which):
   * once the burst is over, resend this conversation's unacked messages (stored once, by id). */
  resendUnackedSoon() {
    if (this.resendTimer) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = null;
      for (const entry of outbox) if (entry.conversation === this.conversation) this.send(entry.frame);
    }, RATE_LIMITED_RESEND_MS);
  }
}

function isConfigured() {
  return EmpathySettings.isConfigured(state.settings, state.token);
}

function connectionFor(conversation) {
  let connection = state.connections.get(conversation);
  if (!connection) {
    connection = new Connection(conversation);
    state.connections.set(conversation, connection);
    connection.open();
  }
  return connection;
}

/** Close sockets nobody needs: no page on the conversation and nothing waiting for an ack. */
function closeIdleConnections() {
  for (const [conversation, connection] of state.connections) {
    const hasPort = [...state.ports].some((p) => p.conversation === conversation);
    const hasQueued = outbox.some((e) => e.conversation === conversation);
    if (!hasPort && !hasQueued) {
      connection.close();
      state.connections.delete(conversation);
    }
  }
}

function reconnectAll() {
  for (const connection of state.connections.values()) connection.close();
  state.connections.clear();
  const conversations = new Set([
    ...[...state.ports].map((p) => p.conversation).filter(Boolean),
    ...outbox.map((e) => e.conversation),
  ]);
  for (const conversation of conversations) connectionFor(conversation);
}

/**
 * Merge a page's hello fields (a frame without the customer's name does not erase it). The server
 * takes one hello per socket, so a field learnt later (the name rendered after the first hello)
 * needs a new socket; queued messages are resent on it and the page re-sends its draft.
 */
function updateHello(conversation, fields) {
  const before = state.hellos.get(conversation) || {};
  const merged = { ...before, ...fields };
  state.hellos.set(conversation, merged);
  const changed = Object.keys(merged).some((key) => merged[key] !== before[key]);
  const connection = state.connections.get(conversation);
  if (connection && changed && Object.keys(before).length) {
    connection.close();
    state.connections.delete(conversation);
  }
  return connectionFor(conversation);
}

function safePost(port, message) {
  try {
    port.postMessage(message);
  } catch {
    state.ports.delete(port);
  }
}

// ---- Content scripts ----

function onPortMessage(port, message) {
  if (message.kind === "hello") {
    port.conversation = message.conversation;
    const connection = updateHello(message.conversation, message.hello || {});
    safePost(port, { kind: "status", status: connection.status, error: connection.error });
    return;
  }
  if (message.kind !== "frame" || !port.conversation || !isConfigured()) return;
  const frame = message.frame;
  if (frame.type === "customer" || frame.type === "sent") enqueue(port.conversation, frame);
  else if (frame.type === "draft") {
    state.drafts.set(frame.id, port);
    if (state.drafts.size > 200) state.drafts.delete(state.drafts.keys().next().value);
    connectionFor(port.conversation).send(frame);
  } else if (frame.type === "feedback") connectionFor(port.conversation).send(frame);
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== "empathy") return;
  state.ports.add(port);
  port.onMessage.addListener((message) => onPortMessage(port, message));
  port.onDisconnect.addListener(() => {
    state.ports.delete(port);
    for (const [id, p] of state.drafts) if (p === port) state.drafts.delete(id);
    setTimeout(closeIdleConnections, 5000);
  });
});

/** Run the content script only on the sites the agent enabled. */
async function registerContentScript() {
  const matches = EmpathySettings.enabledPatterns(state.settings);
  await chrome.scripting.unregisterContentScripts({ ids: [SCRIPT_ID] }).catch(() => {});
  if (!matches.length) return;
  await chrome.scripting.registerContentScripts([
    { id: SCRIPT_ID, matches, js: CONTENT_FILES, allFrames: true, runAt: "document_idle", persistAcrossSessions: false },
  ]);
}

/** Older versions kept the token in the settings, where content scripts could read it. */
async function moveLegacyToken() {
  const { settings } = await chrome.storage.local.get("settings");
  if (!settings?.token) return;
  await EmpathyToken.save(settings.token);
  await EmpathySettings.save(settings); // normalize() leaves the token out
}

async function applySettings() {
  try {
    await moveLegacyToken();
    state.token = await EmpathyToken.load();
  } catch (error) {
    console.error("Empathy Engine: could not read the agent token", error);
  }
  state.settings = await EmpathySettings.load();
  try {
    await registerContentScript();
  } catch (error) {
    console.error("Empathy Engine: could not register the content script", error);
  }
  await loadOutbox();
  reconnectAll();
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "local" && changes.settings) applySettings();
});

// The popup asks for the state of its tab's conversation; the options page says the token changed.
chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (message.kind === "token-changed" && sender.url?.startsWith(chrome.runtime.getURL(""))) {
    applySettings();
  } else if (message.kind === "status") {
    const port = [...state.ports].find((p) => p.sender?.tab?.id === message.tabId && p.conversation);
    const connection = port ? state.connections.get(port.conversation) : null;
    const configured = isConfigured();
    reply({
      configured,
      status: connection?.status || (configured ? "connecting" : "not-configured"),
      error: connection?.error || "",
      queued: outbox.length,
      rejected: rejected.length,
      conversation: port?.conversation || null,
    });
  }
  return false;
});

applySettings();
