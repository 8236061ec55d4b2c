import Quill from "quill";

const quill = new Quill("#editor", { theme: "snow" });
window.testEditor = {
  root: quill.root,
  text: () => quill.getText().replace(/\n$/, ""),
  clear: () => quill.setText(""),
};
