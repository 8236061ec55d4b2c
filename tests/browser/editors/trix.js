import "trix";

const element = document.querySelector("trix-editor");
window.testEditorReady = new Promise((resolve) => {
  const ready = () => {
    window.testEditor = {
      root: element,
      text: () => element.editor.getDocument().toString().replace(/\n$/, ""),
      clear: () => element.editor.loadHTML(""),
    };
    resolve();
  };
  if (element.editor) ready();
  else element.addEventListener("trix-initialize", ready, { once: true });
});
