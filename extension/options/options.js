// Options page: server, token, enabled sites and per-site selectors, stored in chrome.storage.
"use strict";

const form = document.getElementById("options");
const rulesBox = document.getElementById("rules");
const statusEl = document.getElementById("status");
const errorsEl = document.getElementById("errors");

function addRule(rule = {}) {
  const row = document.getElementById("rule-template").content.firstElementChild.cloneNode(true);
  row.querySelector(".pattern").value = rule.pattern || "";
  row.querySelector(".composer").value = rule.composer || "";
  row.querySelector(".customer").value = rule.customer || "";
  row.querySelector(".customer-name").value = rule.customerName || "";
  row.querySelector(".send").value = rule.send || "";
  row.querySelector(".remove").addEventListener("click", () => row.remove());
  rulesBox.append(row);
}

function readForm() {
  const lines = (id) =>
    document.getElementById(id).value.split("\n").map((l) => l.trim()).filter(Boolean);
  return {
    serverUrl: document.getElementById("server-url").value.trim(),
    token: document.getElementById("token").value.trim(),
    demoEnabled: document.getElementById("demo-enabled").checked,
    sites: lines("sites"),
    rules: [...rulesBox.querySelectorAll(".rule")]
      .map((row) => ({
        pattern: row.querySelector(".pattern").value.trim(),
        composer: row.querySelector(".composer").value.trim(),
        customer: row.querySelector(".customer").value.trim(),
        customerName: row.querySelector(".customer-name").value.trim(),
        send: row.querySelector(".send").value.trim(),
      }))
      .filter((r) => r.pattern || r.composer || r.customer || r.customerName || r.send),
  };
}

function selectorError(label, selector) {
  if (!selector) return "";
  try {
    document.createDocumentFragment().querySelector(selector);
    return "";
  } catch {
    return `${label} "${selector}" is not a valid CSS selector`;
  }
}

/** Unencrypted transport is fine only for a server on this machine. */
function isEncryptedOrLocal(serverUrl) {
  const url = new URL(serverUrl);
  if (url.protocol === "https:" || url.protocol === "wss:") return true;
  return ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || url.hostname.endsWith(".localhost");
}

/** Every problem with the settings, as sentences the agent can act on. */
function validate(settings) {
  const errors = [];
  if (!settings.serverUrl) errors.push("Server URL is required");
  else if (!EmpathySettings.websocketUrl(settings.serverUrl) || !EmpathySettings.serverBase(settings.serverUrl)) {
    errors.push("Server URL must start with http://, https://, ws:// or wss://");
  } else if (!isEncryptedOrLocal(settings.serverUrl)) {
    errors.push("Server URL must use https:// or wss:// (the token and the chat travel over it); plain http:// and ws:// are for localhost only");
  }
  if (!settings.token) errors.push("Agent token is required");
  for (const pattern of settings.sites) {
    const error = EmpathySettings.patternError(pattern);
    if (error) errors.push(`Sites: ${error}`);
  }
  for (const rule of settings.rules) {
    if (!rule.pattern) errors.push("Each per-site selector row needs a site pattern");
    else if (EmpathySettings.patternError(rule.pattern)) errors.push(EmpathySettings.patternError(rule.pattern));
    errors.push(
      ...[
        selectorError("Composer selector", rule.composer),
        selectorError("Customer message selector", rule.customer),
        selectorError("Customer name selector", rule.customerName),
        selectorError("Send button selector", rule.send),
      ].filter(Boolean),
    );
  }
  return errors;
}

function showErrors(errors) {
  errorsEl.replaceChildren(...errors.map((e) => Object.assign(document.createElement("li"), { textContent: e })));
}

function setStatus(text, ok) {
  statusEl.textContent = text;
  statusEl.className = ok === undefined ? "" : ok ? "ok" : "bad";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const settings = readForm();
  const errors = validate(settings);
  showErrors(errors);
  if (errors.length) return setStatus("Not saved: please fix the problems below.", false);
  await EmpathyToken.save(settings.token); // first: saving the settings makes the worker read it
  await EmpathySettings.save(settings); // without the token
  await chrome.runtime.sendMessage({ kind: "token-changed" }).catch(() => {});
  setStatus("Saved.", true);
});

/** Open a websocket, say hello with the token, and report what the server answers. */
function testConnection(settings) {
  return new Promise((resolve) => {
    const socket = new WebSocket(EmpathySettings.websocketUrl(settings.serverUrl));
    const finish = (ok, text) => {
      clearTimeout(timer);
      socket.onclose = null;
      socket.close();
      resolve({ ok, text });
    };
    const timer = setTimeout(() => finish(true, "Connected (the server did not answer a ping)."), 4000);
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", token: settings.token, conversation: "connection-test" }));
      socket.send(JSON.stringify({ type: "ping" }));
    };
    socket.onmessage = (event) => {
      let frame = {};
      try {
        frame = JSON.parse(event.data);
      } catch {
        return finish(false, "The server answered something that is not Empathy Engine's protocol.");
      }
      if (frame.type === "error") finish(false, `The server refused: ${frame.message || frame.code}`);
      else finish(true, "Connected: the server accepted the token.");
    };
    socket.onerror = () => {};
    socket.onclose = () => finish(false, "Could not connect to the server's websocket.");
  });
}

document.getElementById("test").addEventListener("click", async () => {
  const settings = readForm();
  const errors = validate(settings).filter((e) => e.startsWith("Server URL") || e.startsWith("Agent token"));
  showErrors(errors);
  if (errors.length) return setStatus("Fix the server URL and token first.", false);
  setStatus("Testing…");
  const result = await testConnection(settings);
  setStatus(result.text, result.ok);
});

document.getElementById("add-rule").addEventListener("click", () => addRule());

function fillPresets() {
  const select = document.getElementById("preset");
  for (const [key, preset] of Object.entries(EmpathySettings.PRESETS)) {
    select.append(new Option(preset.label, key));
  }
  select.addEventListener("change", () => {
    const preset = EmpathySettings.PRESETS[select.value];
    select.value = "";
    if (!preset) return;
    const pattern =
      preset.pattern || EmpathySettings.demoPattern(document.getElementById("server-url").value) || "";
    addRule({ ...preset, pattern });
    const sites = document.getElementById("sites");
    if (pattern && !sites.value.split("\n").includes(pattern)) {
      sites.value = `${sites.value.trim()}\n${pattern}`.trim();
    }
  });
}

async function load() {
  const settings = await EmpathySettings.load();
  document.getElementById("server-url").value = settings.serverUrl;
  document.getElementById("token").value = await EmpathyToken.load();
  document.getElementById("demo-enabled").checked = settings.demoEnabled;
  document.getElementById("sites").value = settings.sites.join("\n");
  settings.rules.forEach(addRule);
  fillPresets();
}

load();
