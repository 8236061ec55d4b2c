// Test-page glue: a uniform window.testEditor for plain editables, and a Send button that
// clears the composer the way a helpdesk does once a reply is sent.
(function () {
  const reply = document.querySelector("#reply");
  const frame = document.querySelector("iframe.composer-frame");
  if (reply && reply.tagName === "TEXTAREA") {
    window.testEditor = { root: reply, text: () => reply.value, clear: () => { reply.value = ""; } };
  } else if (reply) {
    window.testEditor = { root: reply, text: () => reply.innerText.replace(/\n$/, ""), clear: () => { reply.textContent = ""; } };
  } else if (frame) {
    const inner = () => frame.contentDocument.querySelector("#reply");
    window.testEditorReady = new Promise((resolve) => {
      const ready = () => {
        window.testEditor = { get root() { return inner(); }, text: () => inner().innerText.replace(/\n$/, ""), clear: () => { inner().textContent = ""; } };
        resolve();
      };
      if (frame.contentDocument?.readyState === "complete" && inner()) ready();
      else frame.addEventListener("load", ready, { once: true });
    });
  }
  document.querySelector("#send")?.addEventListener("click", () => {
    const text = window.testEditor.text();
    const li = document.createElement("li");
    li.className = "msg agent";
    li.textContent = text;
    document.querySelector("#thread").append(li);
    window.testEditor.clear();
  });
})();
