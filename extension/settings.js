// Settings shared by the service worker, content script, options page and popup. The agent's token
// is not among them: it lives in token.js, out of the content scripts' reach.
// Plain script (no modules): it defines one global, EmpathySettings.
"use strict";

(function (root) {
  const DEFAULTS = Object.freeze({
    serverUrl: "",
    demoEnabled: true, // the server's own /demo page is on unless the agent turns it off
    sites: [], // Chrome match patterns, one per enabled site
    rules: [], // per-site selectors: {pattern, composer, customer, customerName}
  });

  // Selectors from the projects' public markup (docs/extension.md says which were checked how).
  const PRESETS = Object.freeze({
    chatwoot: {
      label: "Chatwoot",
      pattern: "https://app.chatwoot.com/*",
      composer: ".ProseMirror-woot-style",
      customer: ".conversation-panel li.left .message-text__wrap",
      customerName: ".conversation--header .user--name",
    },
    zammad: {
      label: "Zammad",
      pattern: "https://*.zammad.com/*",
      composer: ".articleNewEdit-body",
      customer: ".ticket-article-item.customer .textBubble-content",
      customerName: "",
    },
    freescout: {
      label: "FreeScout",
      pattern: "https://*/conversation/*",
      composer: ".note-editable",
      customer: ".thread.thread-type-customer .thread-body",
      customerName: "",
    },
    demo: {
      label: "Empathy Engine demo",
      pattern: "", // filled from the server URL
      composer: "#reply",
      customer: "[data-role='customer-message'] .text",
      customerName: "[data-role='customer-name']",
    },
  });

  const PATTERN_RE = /^(\*|https?|file|ftp):\/\/(\*|\*\.[^/*:]+|[^/*:]+)?(?::(\*|\d{1,5}))?(\/.*)$/;

  /** Why a match pattern is invalid, or "" when it is fine. */
  function patternError(pattern) {
    if (pattern === "<all_urls>") return "";
    const m = PATTERN_RE.exec(pattern);
    if (!m) return `"${pattern}" is not a match pattern like https://desk.example.com/*`;
    if (m[1] !== "file" && !m[2]) return `"${pattern}" needs a host`;
    return "";
  }

  function escapeRegex(text) {
    return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }

  /** RegExp equivalent of a Chrome match pattern (ports: omitted = any). */
  function patternToRegExp(pattern) {
    if (pattern === "<all_urls>") return /^(https?|file|ftp):\/\//;
    const m = PATTERN_RE.exec(pattern);
    if (!m) return null;
    const [, scheme, host = "", port, path] = m;
    const schemeRe = scheme === "*" ? "https?" : escapeRegex(scheme);
    let hostRe = escapeRegex(host);
    if (host === "*") hostRe = "[^/:]*";
    else if (host.startsWith("*.")) hostRe = `([^/:]*\\.)?${escapeRegex(host.slice(2))}`;
    const portRe = port === undefined || port === "*" ? "(:\\d+)?" : `:${port}`;
    const pathRe = path.split("*").map(escapeRegex).join(".*");
    return new RegExp(`^${schemeRe}://${hostRe}${portRe}${pathRe}$`, "i");
  }

  function urlMatches(pattern, url) {
    const re = patternToRegExp(pattern);
    return Boolean(re && re.test(url));
  }

  /** The server's base URL (http/https), or null when it is not a usable URL. */
  function serverBase(serverUrl) {
    try {
      const url = new URL(serverUrl);
      if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) return null;
      url.protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
      url.hash = "";
      url.search = "";
      return url;
    } catch {
      return null;
    }
  }

  /** Websocket endpoint for a server URL: ws(s)://host/ws unless a ws URL was given. */
  function websocketUrl(serverUrl) {
    const given = (() => {
      try {
        return new URL(serverUrl);
      } catch {
        return null;
      }
    })();
    if (!given) return null;
    if (given.protocol === "ws:" || given.protocol === "wss:") return given.href;
    const base = serverBase(serverUrl);
    if (!base) return null;
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    base.pathname = base.pathname.replace(/\/+$/, "") + "/ws";
    return base.href;
  }

  /** Match pattern for the server's own demo page (port kept: it is part of the origin). */
  function demoPattern(serverUrl) {
    const base = serverBase(serverUrl);
    if (!base) return null;
    return `${base.protocol}//${base.host}/demo*`;
  }

  /** Every pattern the content script should run on. */
  function enabledPatterns(settings) {
    const patterns = [...(settings.sites || [])];
    const demo = settings.demoEnabled ? demoPattern(settings.serverUrl) : null;
    if (demo) patterns.push(demo);
    return [...new Set(patterns.filter((p) => p && !patternError(p)))];
  }

  /** Selectors for a URL: the first rule whose pattern matches, the demo preset for /demo. */
  function rulesFor(settings, url) {
    const rule = (settings.rules || []).find((r) => r.pattern && urlMatches(r.pattern, url));
    if (rule) return rule;
    const demo = demoPattern(settings.serverUrl);
    if (settings.demoEnabled && demo && urlMatches(demo, url)) return PRESETS.demo;
    return { composer: "", customer: "", customerName: "" };
  }

  /** Short stable hash (FNV-1a): message ids and long conversation keys stay the same on reload. */
  function hash(text) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return (h >>> 0).toString(36);
  }

  /**
   * A conversation is a page of the helpdesk: origin + path + hash route, without the query.
   * One function for the content script and the popup, so pausing a conversation hits its key.
   */
  function conversationKey(href) {
    const url = new URL(href);
    const key = `${url.origin}${url.pathname}${url.hash}`;
    return key.length <= 200 ? key : `${key.slice(0, 180)}#${hash(key)}`; // protocol limit
  }

  function hasServer(settings) {
    return Boolean(websocketUrl(settings.serverUrl));
  }

  function isConfigured(settings, token) {
    return Boolean(hasServer(settings) && token);
  }

  /** Stored settings with defaults; never the token (older versions kept it here). */
  function normalize(stored) {
    const { token: _legacyToken, ...rest } = stored || {};
    return { ...DEFAULTS, ...rest };
  }

  async function load() {
    const { settings } = await chrome.storage.local.get("settings");
    return normalize(settings);
  }

  async function save(settings) {
    await chrome.storage.local.set({ settings: normalize(settings) });
  }

  /** Paused sites (origins) and conversations, stored apart from the settings. */
  async function loadPaused() {
    const { paused } = await chrome.storage.local.get("paused");
    return { sites: {}, conversations: {}, ...(paused || {}) };
  }

  async function setPaused(kind, key, value) {
    const paused = await loadPaused();
    if (value) paused[kind][key] = true;
    else delete paused[kind][key];
    await chrome.storage.local.set({ paused });
  }

  root.EmpathySettings = {
    DEFAULTS,
    PRESETS,
    patternError,
    urlMatches,
    websocketUrl,
    serverBase,
    demoPattern,
    enabledPatterns,
    rulesFor,
    hash,
    conversationKey,
    hasServer,
    isConfigured,
    normalize,
    load,
    save,
    loadPaused,
    setPaused,
  };
})(typeof self !== "undefined" ? self : globalThis);
