import { createEditor, $getRoot } from "lexical";
import { registerPlainText } from "@lexical/plain-text";

const root = document.querySelector("#editor");
const editor = createEditor({ namespace: "test", onError: (error) => console.error(error) });
editor.setRootElement(root);
registerPlainText(editor);
window.testEditor = {
  root,
  text: () => editor.getEditorState().read(() => $getRoot().getTextContent()),
  clear: () => editor.update(() => $getRoot().clear()),
};
