import { Editor } from "@tiptap/core";
import StarterKit from "@tiptap/starter-kit";

const editor = new Editor({ element: document.querySelector("#editor"), extensions: [StarterKit], content: "<p></p>" });
window.testEditor = {
  root: editor.view.dom,
  text: () => editor.getText(),
  clear: () => editor.commands.clearContent(true),
};
