// Toolbar popup: connection state for this tab, and pausing nudges for its site or conversation.
"use strict";

const LABELS = {
  connected: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  "not-configured": "Not configured",
  off: "Off on this site",
};

async function activeTab() {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab;
}

function show(stateName, detail) {
  const el = document.getElementById("state");
  el.dataset.state = stateName;
  el.textContent = LABELS[stateName] || stateName;
  document.getElementById("detail").textContent = detail || "";
}

async function refresh() {
  const tab = await activeTab();
  const settings = await EmpathySettings.load();
  const paused = await EmpathySettings.loadPaused();
  const worker = await chrome.runtime.sendMessage({ kind: "status", tabId: tab?.id });
  const url = tab?.url ? new URL(tab.url) : null;
  const origin = url ? url.origin : "";
  const conversation = url ? EmpathySettings.conversationKey(url.href) : ""; // as content.js does
  const enabled = EmpathySettings.enabledPatterns(settings).some((p) =>
    EmpathySettings.urlMatches(p, tab?.url || ""),
  );
  const siteBox = document.getElementById("pause-site");
  const convBox = document.getElementById("pause-conversation");
  siteBox.checked = Boolean(paused.sites[origin]);
  convBox.checked = Boolean(conversation && paused.conversations[conversation]);
  siteBox.disabled = !enabled;
  convBox.disabled = !enabled;
  if (!worker.configured) show("not-configured", "Set the server URL and token in Options.");
  else if (!enabled || siteBox.checked || convBox.checked) show("off", enabled ? "Paused." : "This site is not in your Sites list.");
  else show(worker.status, [worker.error, worker.queued ? `${worker.queued} message(s) waiting to be stored` : "",
    worker.rejected ? `${worker.rejected} message(s) refused by the server (see the service worker console)` : ""].filter(Boolean).join(" · "));
  siteBox.onchange = () => EmpathySettings.setPaused("sites", origin, siteBox.checked).then(refresh);
  convBox.onchange = () =>
    EmpathySettings.setPaused("conversations", conversation, convBox.checked).then(refresh);
}

document.getElementById("open-options").addEventListener("click", (event) => {
  event.preventDefault();
  chrome.runtime.openOptionsPage();
});

refresh();
