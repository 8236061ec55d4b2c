// The agent's token, kept where content scripts cannot reach it: the extension origin's IndexedDB.
// Content scripts run with the page's origin, so they cannot open it; chrome.storage.local, by
// contrast, is readable by content scripts and broadcasts every change to them.
// Loaded by the service worker and the options page only. Defines one global, EmpathyToken.
"use strict";

(function (root) {
  const DB_NAME = "empathy-engine";
  const STORE = "secrets";
  const KEY = "token";

  function openDb() {
    if (root.location.protocol !== "chrome-extension:") {
      return Promise.reject(new Error("the token is only for the extension's own pages"));
    }
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /** Run one request in a transaction; resolves with its result once the transaction commits. */
  async function inStore(mode, makeRequest) {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        const request = makeRequest(transaction.objectStore(STORE));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  root.EmpathyToken = {
    async load() {
      return (await inStore("readonly", (store) => store.get(KEY))) || "";
    },
    async save(token) {
      await inStore("readwrite", (store) => store.put(token || "", KEY));
    },
  };
})(self);
