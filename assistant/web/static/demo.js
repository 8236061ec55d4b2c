// The demo agent desktop: plays a scripted customer, streams the agent's reply to the server and
// draws nudges with the same UI the extension uses (EmpathyNudgeUI from /ui/nudges.js).
// When the extension is installed and on for this page, it takes over the talking; the page then
// only plays the customer.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("demo-config").textContent);
  const DRAFT_DELAY_MS = 300;
  const REPLY_DELAY_MS = 2500; // the customer "types" before answering the agent

  const reply = document.getElementById("reply");
  const thread = document.getElementById("thread");
  const connection = document.getElementById("connection");

  const state = {
    scenario: null,
    conversation: "",
    socket: null,
    ready: false,
    attempt: 0,
    retryTimer: 0,
    timers: [],
    replies: [], // on_reply messages still to come
    view: null,
    draftTimer: 0,
    draftSeq: 0,
    lastDraftId: "",
    lastDraftText: "",
    messageSeq: 0,
    extension: document.documentElement.dataset.empathyExtension === "on",
  };

  // ---- Connection (not used when the extension is present) ----

  function setConnection(name, text) {
    connection.dataset.state = name;
    connection.textContent = text;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    if (state.extension || !state.conversation) return;
    const socket = new WebSocket(config.ws_url);
    state.socket = socket;
    state.ready = false;
    setConnection("connecting", "Connecting…");
    socket.onopen = () => {
      socket.send(
        JSON.stringify({
          type: "hello",
          token: config.token,
          conversation: state.conversation,
          customer_name: state.scenario.customer_name,
          site: "demo",
        }),
      );
    };
    socket.onmessage = (event) => onFrame(JSON.parse(event.data));
    socket.onclose = () => {
      if (state.socket !== socket) return;
      state.socket = null;
      state.ready = false;
      if (state.extension) return;
      // Back off, with jitter, up to 10 s between attempts.
      const ceiling = Math.min(10000, 500 * 2 ** state.attempt++);
      setConnection("reconnecting", "Reconnecting…");
      state.retryTimer = setTimeout(connect, ceiling / 2 + (Math.random() * ceiling) / 2);
    };
  }

  function disconnect() {
    clearTimeout(state.retryTimer);
    const socket = state.socket;
    state.socket = null;
    state.ready = false;
    socket?.close();
  }

  function send(frame) {
    if (state.extension || !state.ready) return false;
    state.socket.send(JSON.stringify(frame));
    return true;
  }

  function onFrame(frame) {
    if (frame.type === "ready") {
      state.ready = true;
      state.attempt = 0;
      setConnection("connected", "Connected");
      flushUnsent();
      scheduleDraft(0);
    } else if (frame.type === "ack") {
      thread.querySelector(`[data-id="${CSS.escape(frame.id)}"]`)?.setAttribute("data-stored", "true");
    } else if (frame.type === "nudges" && frame.for === state.lastDraftId) {
      state.view?.render(frame.items);
    } else if (frame.type === "waiting") {
      for (const item of frame.items) state.view?.push(item);
    } else if (frame.type === "lexicon") {
      state.lastDraftText = "";
      scheduleDraft(0);
    } else if (frame.type === "error") {
      console.warn("Empathy Engine:", frame.code, frame.message);
    }
  }

  /** Messages shown while disconnected are sent once the server is back. */
  function flushUnsent() {
    for (const li of thread.querySelectorAll("li[data-id]:not([data-stored])")) {
      const type = li.dataset.role === "customer-message" ? "customer" : "sent";
      send({ type, id: li.dataset.id, text: li.querySelector(".text").textContent, ts: Number(li.dataset.ts) });
    }
  }

  // ---- The conversation ----

  function addMessage(role, text) {
    const li = document.createElement("li");
    li.dataset.role = role;
    state.messageSeq += 1;
    li.dataset.id = `${role === "customer-message" ? "c" : "s"}-${state.conversation}-${state.messageSeq}`;
    li.dataset.ts = String(Date.now());
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(body);
    thread.append(li);
    li.scrollIntoView({ block: "nearest" });
    return li;
  }

  function customerSays(text) {
    const li = addMessage("customer-message", text);
    send({ type: "customer", id: li.dataset.id, text, ts: Number(li.dataset.ts) });
  }

  function later(seconds, fn) {
    state.timers.push(setTimeout(fn, seconds * 1000));
  }

  function start(scenario) {
    for (const timer of state.timers) clearTimeout(timer);
    state.timers = [];
    disconnect();
    state.scenario = scenario;
    state.conversation = `demo-${scenario.id}-${Math.random().toString(36).slice(2, 8)}`;
    state.replies = [...(scenario.on_reply || [])];
    state.messageSeq = 0;
    state.lastDraftText = "";
    thread.replaceChildren();
    reply.value = "";
    state.view?.clear();
    document.getElementById("intro").hidden = true;
    document.getElementById("chat").hidden = false;
    document.querySelector("[data-role='customer-name']").textContent = scenario.customer_name;
    document.getElementById("summary").textContent = scenario.summary || "";
    for (const button of document.querySelectorAll(".scenario")) {
      button.setAttribute("aria-current", String(button.dataset.scenario === scenario.id));
    }
    // The extension names conversations by URL: give each one its own.
    location.hash = `conversation=${state.conversation}`;
    if (!state.view && !state.extension) attachView();
    connect();
    let at = 0;
    for (const message of scenario.messages || []) {
      at += message.after || 0;
      later(at, () => customerSays(message.text));
    }
    reply.focus();
  }

  function attachView() {
    state.view = EmpathyNudgeUI.attach(reply, {
      cssUrl: config.ui_css,
      onApply: (item) => send({ type: "feedback", nudge: item.id, action: "applied" }),
      onFeedback: (item, action) => send({ type: "feedback", nudge: item.id, action }),
    });
  }

  // ---- The agent's reply ----

  function scheduleDraft(delay) {
    clearTimeout(state.draftTimer);
    state.draftTimer = setTimeout(sendDraft, delay);
  }

  function sendDraft() {
    const text = reply.value;
    if (state.extension || text === state.lastDraftText || !state.ready) return;
    state.lastDraftText = text;
    if (!text.trim()) {
      state.lastDraftId = "";
      state.view?.render([]);
      return;
    }
    state.lastDraftId = `d-${++state.draftSeq}`;
    send({ type: "draft", id: state.lastDraftId, text });
  }

  function sendReply() {
    const text = reply.value.trim();
    if (!text || !state.scenario) return;
    const li = addMessage("agent-message", text);
    send({ type: "sent", id: li.dataset.id, text, ts: Number(li.dataset.ts) });
    reply.value = "";
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    state.lastDraftText = "";
    state.view?.clear();
    const next = state.replies.shift();
    if (next) later(next.after || REPLY_DELAY_MS / 1000, () => customerSays(next.text));
  }

  reply.addEventListener("input", () => scheduleDraft(DRAFT_DELAY_MS));
  reply.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing) {
      event.preventDefault();
      sendReply();
    }
  });
  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendReply();
  });
  for (const button of document.querySelectorAll(".scenario")) {
    button.addEventListener("click", () => {
      start(config.scenarios.find((s) => s.id === button.dataset.scenario));
    });
  }

  /** The extension announced itself: it streams and draws from now on. */
  function handOver() {
    state.extension = true;
    disconnect();
    state.view?.detach();
    state.view = null;
    setConnection("extension", "Using the Empathy Engine extension");
  }

  document.addEventListener("empathy-engine:extension", handOver);
  if (state.extension) handOver();
})();
