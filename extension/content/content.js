// Content script (every frame of an enabled site): finds the composer and the customer's messages,
// streams them to the service worker, and draws the nudges that come back.
"use strict";

(function () {
  if (self.__empathyEngineLoaded) return; // injected twice (e.g. settings re-registered): keep one
  self.__empathyEngineLoaded = true;

  const DRAFT_DELAY_MS = 300; // "about 300 ms after typing stops"
  const SENT_CHECK_MS = 250; // how long after Enter/click the composer must be empty to count as sent
  const SCAN_DELAY_MS = 200;
  const MAX_TEXT = 15000; // the protocol caps text at 20,000 characters and frames at 64 KiB

  const state = {
    settings: null,
    rules: null,
    openShadow: false, // test-only: set by the browser tests through chrome.storage, never by a page
    active: false,
    conversation: "",
    port: null,
    composer: null,
    view: null,
    draftTimer: 0,
    draftSeq: 0,
    lastDraftId: "",
    lastDraftText: "",
    sentIds: new Set(),
    customerName: "",
    pendingPushed: [],
    hookedDocs: new WeakSet(),
    hookedFrames: new WeakSet(),
    messageTexts: new WeakMap(), // customer message element -> {raw textContent, innerText}
    observer: null,
    scanTimer: 0,
  };

  function topUrl() {
    try {
      return window.top.location.href;
    } catch {
      return location.href; // cross-origin parent: this frame's own URL names the conversation
    }
  }

  function conversationKey() {
    return EmpathySettings.conversationKey(topUrl());
  }

  // ---- Talking to the service worker ----

  function connectPort() {
    state.port = chrome.runtime.connect({ name: "empathy" });
    state.port.onMessage.addListener(onWorkerMessage);
    state.port.onDisconnect.addListener(() => {
      state.port = null;
      if (state.active) setTimeout(() => state.active && !state.port && connectPort(), 1000);
    });
    sayHello();
  }

  function sayHello() {
    const hello = { site: location.hostname.slice(0, 200) };
    if (state.customerName) hello.customer_name = state.customerName;
    state.port?.postMessage({ kind: "hello", conversation: state.conversation, hello });
  }

  function post(frame) {
    if (!state.active) return;
    if (!state.port) connectPort();
    state.port.postMessage({ kind: "frame", frame });
  }

  function onWorkerMessage(message) {
    if (message.kind === "nudges") onNudges(message.frame, message.pushed);
    else if (message.kind === "resend") {
      state.lastDraftText = "";
      scheduleDraft(0);
    }
  }

  function onNudges(frame, pushed) {
    if (pushed) {
      for (const item of frame.items || []) {
        if (state.view) state.view.push(item);
        else state.pendingPushed.push(item);
      }
    } else if (frame.for === state.lastDraftId && state.view) {
      state.view.render(frame.items || []);
    }
  }

  // ---- Composer ----

  function attach(composer) {
    if (!composer || composer === state.composer) return;
    detach();
    state.composer = composer;
    state.view = EmpathyNudgeUI.attach(composer, {
      cssUrl: chrome.runtime.getURL("ui/nudges.css"),
      shadowMode: state.openShadow ? "open" : "closed",
      onApply: (item) => post({ type: "feedback", nudge: item.id, action: "applied" }),
      onFeedback: (item, action) => post({ type: "feedback", nudge: item.id, action }),
    });
    for (const item of state.pendingPushed.splice(0)) state.view.push(item);
    composer.addEventListener("input", onInput);
    // Capture: the page's own Enter handler may empty the box before a bubbling listener runs.
    composer.addEventListener("keydown", onKeydown, true);
    state.lastDraftText = "";
    if (EmpathyNudgeUI.textOf(composer).trim()) scheduleDraft(0);
  }

  function detach() {
    if (!state.composer) return;
    state.composer.removeEventListener("input", onInput);
    state.composer.removeEventListener("keydown", onKeydown, true);
    state.view?.detach();
    state.composer = null;
    state.view = null;
    clearTimeout(state.draftTimer);
  }

  function onInput() {
    scheduleDraft(DRAFT_DELAY_MS);
  }

  function scheduleDraft(delay) {
    clearTimeout(state.draftTimer);
    state.draftTimer = setTimeout(sendDraft, delay);
  }

  function sendDraft() {
    if (!state.composer || !state.composer.isConnected) return;
    const text = EmpathyNudgeUI.textOf(state.composer).slice(0, MAX_TEXT);
    if (text === state.lastDraftText) return;
    state.lastDraftText = text;
    if (!text.trim()) {
      state.lastDraftId = "";
      state.view?.render([]);
      return;
    }
    state.draftSeq += 1;
    state.lastDraftId = `d-${Date.now().toString(36)}-${state.draftSeq}`;
    post({ type: "draft", id: state.lastDraftId, text });
  }

  // ---- Sent replies: the text left the composer right after Enter or a click on a send control ----

  // Words on send buttons (text, aria-label or title), in the helpdesks' common UI languages.
  const SEND_WORDS =
    /\b(send|reply|submit|post|respond|senden|antworten|enviar|responder|envoyer|répondre|invia|rispondi|verstuur|verzenden)\b/i;

  function onKeydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) watchForSend();
  }

  function onClickAnywhere(event) {
    if (!state.composer) return;
    const target = event.composedPath()[0];
    const control = target?.closest?.("button, [type=submit], [role=button], a");
    if (control && looksLikeSend(control)) watchForSend();
  }

  /** "Discard draft" or "Close" also empty the box: only a send control counts as sending. */
  function looksLikeSend(control) {
    if (state.rules.send && matchesSafely(control, state.rules.send)) return true;
    if (control.matches("[type=submit]") || (control.tagName === "BUTTON" && control.form && control.type === "submit")) {
      return true;
    }
    const label = [control.textContent, control.getAttribute("aria-label"), control.title]
      .filter(Boolean)
      .join(" ");
    return SEND_WORDS.test(label);
  }

  function watchForSend() {
    const composer = state.composer;
    const text = EmpathyNudgeUI.textOf(composer).trim();
    if (!text) return;
    setTimeout(() => {
      const now = composer.isConnected ? EmpathyNudgeUI.textOf(composer).trim() : "";
      if (now) return; // still there: Enter made a new line, or the click was something else
      const id = `s-${EmpathyDetect.hash(`${state.conversation}\n${text}`)}-${Date.now().toString(36)}`;
      post({ type: "sent", id, text: text.slice(0, MAX_TEXT), ts: Date.now() });
      state.lastDraftText = "";
      state.lastDraftId = "";
      state.view?.clear();
    }, SENT_CHECK_MS);
  }

  function matchesSafely(el, selector) {
    try {
      return Boolean(el.closest(selector));
    } catch {
      return false; // a broken selector never breaks the page; options validate it
    }
  }

  function onFocusIn(event) {
    if (conversationChanged()) return restart();
    const target = event.composedPath()[0];
    if (target?.tagName === "IFRAME") return hookFrame(target);
    const composer = EmpathyDetect.composerFor(
      EmpathyDetect.deepActiveElement(target.ownerDocument) || target,
      state.rules.composer,
    );
    if (composer) attach(composer);
  }

  /** Same-origin frames our script is not injected into (about:blank, srcdoc): watch them from here. */
  function hookFrame(frame) {
    let doc;
    try {
      doc = frame.contentDocument;
    } catch {
      return;
    }
    if (!doc || state.hookedDocs.has(doc)) return;
    const patterns = EmpathySettings.enabledPatterns(state.settings);
    if (patterns.some((p) => EmpathySettings.urlMatches(p, doc.location.href))) return; // has its own
    state.hookedDocs.add(doc);
    doc.addEventListener("focusin", onFocusIn, true);
    doc.addEventListener("click", onClickAnywhere, true);
    const active = EmpathyDetect.deepActiveElement(doc);
    const composer = EmpathyDetect.composerFor(active, state.rules.composer);
    if (composer) attach(composer);
  }

  // ---- Page changes: re-rendered composers, new customer messages ----

  function hookFrames() {
    for (const frame of document.querySelectorAll("iframe")) {
      if (state.hookedFrames.has(frame)) continue;
      state.hookedFrames.add(frame);
      frame.addEventListener("load", () => hookFrame(frame)); // its document is replaced on load
      hookFrame(frame);
    }
  }

  /** Helpdesks route with pushState, which fires no event: a page change is seen as DOM changes. */
  function conversationChanged() {
    return state.active && conversationKey() !== state.conversation;
  }

  function scan() {
    if (conversationChanged()) return restart(); // another ticket: its messages get its own key
    if (state.composer && !state.composer.isConnected) detach(); // the helpdesk re-rendered it
    hookFrames();
    if (!state.composer) {
      const [byRule] = EmpathyDetect.composersBySelector(document, state.rules.composer);
      if (byRule) attach(byRule);
    }
    scanCustomerName();
    scanCustomerMessages();
  }

  function scanCustomerName() {
    if (!state.rules.customerName) return;
    let name = "";
    try {
      name = document.querySelector(state.rules.customerName)?.textContent.trim() || "";
    } catch {
      return;
    }
    if (name && name !== state.customerName) {
      state.customerName = name.slice(0, 100);
      sayHello();
    }
  }

  /** Each customer message is sent once; its id is stable so reloads and re-renders don't repeat it. */
  function scanCustomerMessages() {
    const seen = new Map();
    for (const el of EmpathyDetect.customerMessages(document, state.rules.customer)) {
      const text = messageText(el);
      if (!text) continue;
      const n = (seen.get(text) || 0) + 1;
      seen.set(text, n);
      const id = `c-${EmpathyDetect.hash(`${state.conversation}\n${text}\n${n}`)}`;
      if (state.sentIds.has(id)) continue;
      state.sentIds.add(id);
      post({ type: "customer", id, text: text.slice(0, MAX_TEXT) });
    }
  }

  /** innerText needs layout: read it again only when the element's text changed. */
  function messageText(el) {
    const cached = state.messageTexts.get(el);
    const raw = el.textContent;
    if (cached && cached.raw === raw) return cached.text;
    const text = el.innerText.trim();
    state.messageTexts.set(el, { raw, text });
    return text;
  }

  function scheduleScan() {
    clearTimeout(state.scanTimer);
    state.scanTimer = setTimeout(scan, SCAN_DELAY_MS);
  }

  // ---- On / off ----

  async function isEnabledHere(settings) {
    if (!EmpathySettings.hasServer(settings)) return false; // the token is the worker's business
    const url = location.href.startsWith("about:") ? topUrl() : location.href;
    const patterns = EmpathySettings.enabledPatterns(settings);
    if (!patterns.some((p) => EmpathySettings.urlMatches(p, url))) return false;
    const paused = await EmpathySettings.loadPaused();
    return !paused.sites[new URL(topUrl()).origin] && !paused.conversations[conversationKey()];
  }

  function isDemoPage() {
    const demo = state.settings.demoEnabled && EmpathySettings.demoPattern(state.settings.serverUrl);
    return Boolean(demo && EmpathySettings.urlMatches(demo, location.href));
  }

  function start() {
    state.active = true;
    state.conversation = conversationKey();
    state.sentIds.clear();
    connectPort();
    document.addEventListener("focusin", onFocusIn, true);
    document.addEventListener("click", onClickAnywhere, true);
    state.observer = new MutationObserver(scheduleScan);
    state.observer.observe(document, { childList: true, subtree: true, characterData: true });
    window.addEventListener("hashchange", restart);
    window.addEventListener("popstate", restart); // back/forward between tickets
    if (window === window.top && isDemoPage()) {
      // Only the server's /demo page needs to know (it hands its own client over); other pages
      // are not told an extension is watching.
      document.documentElement.dataset.empathyExtension = "on";
      document.dispatchEvent(new CustomEvent("empathy-engine:extension"));
    }
    const focused = EmpathyDetect.composerFor(EmpathyDetect.deepActiveElement(document), state.rules.composer);
    if (focused) attach(focused);
    scan();
  }

  function stop() {
    state.active = false;
    detach();
    document.removeEventListener("focusin", onFocusIn, true);
    document.removeEventListener("click", onClickAnywhere, true);
    window.removeEventListener("hashchange", restart);
    window.removeEventListener("popstate", restart);
    state.observer?.disconnect();
    clearTimeout(state.scanTimer);
    state.port?.disconnect();
    state.port = null;
  }

  /** A new conversation (hash or pushState route) or changed settings: start over from this page. */
  async function restart() {
    stop();
    state.settings = await EmpathySettings.load();
    state.openShadow = Boolean((await chrome.storage.local.get("testHooks")).testHooks?.openShadow);
    state.rules = EmpathySettings.rulesFor(state.settings, topUrl());
    if (await isEnabledHere(state.settings)) start();
  }

  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === "local" && (changes.settings || changes.paused)) restart();
  });

  restart();
})();
