import { ClassicEditor, Essentials, Paragraph } from "ckeditor5";

window.testEditorReady = ClassicEditor.create(document.querySelector("#editor"), {
  licenseKey: "GPL",
  plugins: [Essentials, Paragraph],
}).then((editor) => {
  const root = editor.model.document.getRoot();
  window.testEditor = {
    root: editor.ui.view.editable.element,
    // The model's text, as CKEditor itself reports it.
    text: () =>
      [...root.getChildren()]
        .map((block) => [...block.getChildren()].map((node) => node.data || "").join(""))
        .join("\n"),
    clear: () => editor.setData(""),
  };
});
