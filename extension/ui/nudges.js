// Inline nudge UI shared by the extension's content script and the server's /demo page.
// Plain script: defines one global, EmpathyNudgeUI. It never mutates the editor's DOM: highlights
// and cards are drawn in a closed shadow root on top of the page (the page can neither read the
// nudges nor click their buttons), and "Apply" edits through the editor's own input path so its
// state and undo history stay right.
"use strict";

(function (root) {
  if (root.EmpathyNudgeUI) return;

  const QUESTIONS = {
    1: "How does the person I'm trying to help feel?",
    2: "How would I feel if I were that person?",
    3: 'No matter the request or the "rules", is there something I can or should do to help?',
    4: "What would I expect to be done for me if the roles were reversed?",
    5: "In the end, what would make this customer satisfied, or better yet happy?",
  };
  const FOCUS_SETTLE_MS = 80;
  const BLOCK_TAGS = new Set(
    "ADDRESS ARTICLE ASIDE BLOCKQUOTE DD DIV DL DT FIGURE FOOTER H1 H2 H3 H4 H5 H6 HEADER HR LI OL P PRE SECTION TABLE TR UL".split(
      " ",
    ),
  );

  // ---- Text model: the exact string sent to the server, and offsets back into the DOM ----

  function isTextField(el) {
    return el.tagName === "TEXTAREA" || el.tagName === "INPUT";
  }

  /** Text of an editable plus a map from string offsets to text nodes. */
  function readEditable(el) {
    if (isTextField(el)) return { text: el.value, nodes: null };
    const nodes = []; // {node, start}: text node and where its data starts in `text`
    let text = "";
    const breakLine = () => {
      if (text && !text.endsWith("\n")) text += "\n";
    };
    const walk = (node) => {
      for (let child = node.firstChild; child; child = child.nextSibling) {
        if (child.nodeType === Node.TEXT_NODE) {
          nodes.push({ node: child, start: text.length });
          text += child.data;
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          if (child.getAttribute("contenteditable") === "false") continue;
          if (child.tagName === "BR") {
            text += "\n";
            continue;
          }
          const block = BLOCK_TAGS.has(child.tagName);
          if (block) breakLine();
          walk(child);
          if (block) breakLine();
        }
      }
    };
    walk(el);
    // Editors pad with invisible characters (zero-width space / word joiner): keep offsets, hide them.
    return { text: text.replace(/[\u200b\u2060\ufeff]/g, " ").replace(/\n+$/, ""), nodes };
  }

  function textOf(el) {
    return readEditable(el).text;
  }

  /** DOM Range for [start, end) of a contenteditable's text, or null. */
  function rangeFor(el, start, end) {
    const { nodes } = readEditable(el);
    const locate = (offset, preferEnd) => {
      for (let i = 0; i < nodes.length; i++) {
        const { node, start: s } = nodes[i];
        const e = s + node.data.length;
        if (offset < e || (preferEnd && offset === e) || (offset === e && i === nodes.length - 1)) {
          if (offset >= s) return { node, offset: offset - s };
        }
      }
      return null;
    };
    const a = locate(start, false);
    const b = locate(end, true);
    if (!a || !b) return null;
    const range = el.ownerDocument.createRange();
    range.setStart(a.node, a.offset);
    range.setEnd(b.node, b.offset);
    return range;
  }

  /** Where item.text is now: at its offsets, or the nearest occurrence if the draft moved on. */
  function locate(text, item) {
    const wanted = item.text || "";
    if (!wanted) return { start: item.start, end: item.end };
    if (text.slice(item.start, item.end).toLowerCase() === wanted.toLowerCase()) {
      return { start: item.start, end: item.end };
    }
    const lower = text.toLowerCase();
    const needle = wanted.toLowerCase();
    let best = -1;
    for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, i + 1)) {
      if (best === -1 || Math.abs(i - item.start) < Math.abs(best - item.start)) best = i;
    }
    return best === -1 ? null : { start: best, end: best + wanted.length };
  }

  // ---- Geometry ----

  const MIRRORED = [
    "boxSizing", "width", "height", "overflowX", "overflowY", "borderTopWidth", "borderRightWidth",
    "borderBottomWidth", "borderLeftWidth", "borderStyle", "paddingTop", "paddingRight",
    "paddingBottom", "paddingLeft", "fontStyle", "fontVariant", "fontWeight", "fontStretch",
    "fontSize", "fontSizeAdjust", "lineHeight", "fontFamily", "textAlign", "textTransform",
    "textIndent", "letterSpacing", "wordSpacing", "tabSize", "whiteSpace", "wordBreak", "overflowWrap",
  ];

  /** Client rects of [start, end) inside a textarea, measured on a hidden mirror. */
  function textFieldRects(field, mirror, start, end) {
    const style = field.ownerDocument.defaultView.getComputedStyle(field);
    for (const prop of MIRRORED) mirror.style[prop] = style[prop];
    if (field.tagName === "TEXTAREA") mirror.style.whiteSpace = "pre-wrap";
    else mirror.style.whiteSpace = "pre";
    const box = field.getBoundingClientRect();
    Object.assign(mirror.style, {
      position: "fixed", visibility: "hidden", overflow: "hidden", top: `${box.top}px`,
      left: `${box.left}px`, borderColor: "transparent",
    });
    mirror.replaceChildren();
    const mark = document.createElement("span");
    mark.textContent = field.value.slice(start, end) || "\u200b";
    mirror.append(field.value.slice(0, start), mark, field.value.slice(end) + " ");
    mirror.scrollTop = 0;
    return [...mark.getClientRects()].map((r) => ({
      left: r.left - field.scrollLeft, top: r.top - field.scrollTop, width: r.width, height: r.height,
    }));
  }

  /** Rects in this frame's viewport coordinates, clipped to the editable's visible box. */
  function spanRects(el, mirror, start, end) {
    let rects;
    if (isTextField(el)) rects = textFieldRects(el, mirror, start, end);
    else {
      const range = rangeFor(el, start, end);
      rects = range ? [...range.getClientRects()] : [];
    }
    const clip = el.getBoundingClientRect();
    return rects
      .map((r) => {
        const left = Math.max(r.left, clip.left);
        const top = Math.max(r.top, clip.top);
        const right = Math.min(r.left + r.width, clip.right);
        const bottom = Math.min(r.top + r.height, clip.bottom);
        return { left, top, width: right - left, height: bottom - top };
      })
      .filter((r) => r.width > 0 && r.height > 0);
  }

  // ---- Editing through the editor's own input path ----

  function wait(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Replace [start, end) with `replacement` the way typing would. Resolves true on success. */
  async function replaceSpan(el, start, end, replacement) {
    const doc = el.ownerDocument;
    const hadFocus = doc.activeElement === el || el.contains(doc.activeElement);
    el.focus({ preventScroll: true });
    // Some editors (CKEditor 5) settle focus on a short timer and ignore input until then.
    if (!hadFocus) await wait(FOCUS_SETTLE_MS);
    if (isTextField(el)) {
      el.setSelectionRange(start, end);
      if (doc.execCommand("insertText", false, replacement)) return true;
      el.setRangeText(replacement, start, end, "end");
      el.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertReplacementText", data: replacement }));
      return true;
    }
    const range = rangeFor(el, start, end);
    if (!range) return false;
    const selection = doc.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    // Editors sync their model selection on "selectionchange", which fires asynchronously.
    await wait(0);
    const before = textOf(el);
    // First offer the editor a beforeinput naming its target range: editors that keep their own
    // model (CKEditor 5, Trix, Lexical) take it and cancel it; a native edit would be reverted.
    const event = new InputEvent("beforeinput", {
      bubbles: true, cancelable: true, inputType: "insertText", data: replacement,
      targetRanges: [new StaticRange(range)],
    });
    if (!el.dispatchEvent(event)) {
      await wait(0);
      if (textOf(el) !== before) return true;
    }
    // Otherwise the browser's own editing, which editors observe (ProseMirror, Quill, plain).
    doc.execCommand("insertText", false, replacement);
    return textOf(el) !== before;
  }

  // ---- The view ----

  function questionText(question) {
    return typeof question === "number" || /^\d$/.test(String(question))
      ? QUESTIONS[question] || ""
      : String(question || "");
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // always text, never HTML
    return node;
  }

  // Constructed stylesheets cannot be shared across documents (editors in iframes): one per document.
  const sheets = new WeakMap();
  let cssText = null;

  function loadCss(options) {
    if (!cssText) {
      cssText = options.cssText
        ? Promise.resolve(options.cssText)
        : fetch(options.cssUrl).then((r) => r.text());
      cssText.catch((error) => console.warn("Empathy Engine: nudge styles not loaded", error));
    }
    return cssText;
  }

  function styleSheet(options, doc) {
    if (sheets.has(doc)) return sheets.get(doc);
    const sheet = new doc.defaultView.CSSStyleSheet();
    sheets.set(doc, sheet);
    if (options.cssText || options.cssUrl) loadCss(options).then((css) => sheet.replace(css));
    return sheet;
  }

  class NudgeView {
    constructor(editable, options) {
      this.editable = editable;
      this.options = options;
      this.items = [];
      this.dismissed = new Set();
      this.closed = false;
      this.host = editable.ownerDocument.createElement("empathy-engine-nudges");
      this.host.style.cssText =
        "position:fixed;top:0;left:0;width:0;height:0;overflow:visible;z-index:2147483647;" +
        "pointer-events:none;margin:0;padding:0;border:0;display:block";
      // Closed: page scripts get no handle on the nudges. Only the extension's browser tests ask
      // for "open" (see content.js), so their locators can reach the cards.
      this.shadow = this.host.attachShadow({ mode: options.shadowMode === "open" ? "open" : "closed" });
      this.shadow.adoptedStyleSheets = [styleSheet(options, editable.ownerDocument)];
      this.layer = make("div", "layer");
      this.cards = make("div", "cards");
      this.cards.setAttribute("role", "region");
      this.cards.setAttribute("aria-label", "Empathy nudges");
      this.live = make("div", "live");
      this.live.setAttribute("aria-live", "polite");
      this.mirror = make("div", "mirror");
      this.mirror.setAttribute("aria-hidden", "true");
      this.shadow.append(this.layer, this.cards, this.live, this.mirror);
      editable.ownerDocument.documentElement.appendChild(this.host);
      this.onKey = this.onKey.bind(this);
      this.reposition = () => this.schedule();
      editable.addEventListener("keydown", this.onKey, true);
      this.shadow.addEventListener("keydown", this.onKey);
      const win = editable.ownerDocument.defaultView;
      win.addEventListener("scroll", this.reposition, true);
      win.addEventListener("resize", this.reposition);
      editable.addEventListener("input", this.reposition);
      this.resizeObserver = new ResizeObserver(this.reposition);
      this.resizeObserver.observe(editable);
    }

    key(item) {
      return `${item.rule}\u0000${(item.text || "").toLowerCase()}`;
    }

    /** Replace the current nudges with a `nudges` frame's items. */
    render(items) {
      const pushed = this.items.filter((i) => i.pushed);
      this.items = [...pushed, ...(items || []).filter((i) => !this.dismissed.has(this.key(i)))];
      this.closed = false;
      this.draw();
    }

    /** Add a server-pushed nudge (e.g. a customer left waiting). */
    push(item) {
      this.items = this.items.filter((i) => !(i.pushed && (i.id === item.id || i.rule === item.rule)));
      this.items.unshift({ ...item, pushed: true });
      this.closed = false;
      this.draw();
    }

    clear() {
      this.items = [];
      this.draw();
    }

    detach() {
      this.editable.removeEventListener("keydown", this.onKey, true);
      this.editable.removeEventListener("input", this.reposition);
      const win = this.editable.ownerDocument.defaultView;
      if (win) {
        win.removeEventListener("scroll", this.reposition, true);
        win.removeEventListener("resize", this.reposition);
      }
      this.resizeObserver.disconnect();
      this.host.remove();
    }

    schedule() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.drawHighlights();
        this.placeCards();
      });
    }

    draw() {
      this.drawCards();
      this.drawHighlights();
      this.placeCards();
      const first = this.items[0];
      this.live.textContent = first && !this.closed ? `Empathy nudge: ${first.message}` : "";
    }

    drawHighlights() {
      this.layer.replaceChildren();
      if (!this.editable.isConnected) return;
      const text = textOf(this.editable);
      for (const item of this.items) {
        if (item.start === item.end) continue;
        const span = locate(text, item);
        if (!span) continue;
        for (const r of spanRects(this.editable, this.mirror, span.start, span.end)) {
          const mark = make("div", `mark severity-${item.severity === "warning" ? "warning" : "suggestion"}`);
          mark.dataset.empathyNudge = item.rule;
          Object.assign(mark.style, {
            left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`, height: `${r.height}px`,
          });
          this.layer.append(mark);
        }
      }
    }

    drawCards() {
      this.cards.replaceChildren();
      this.cards.hidden = this.closed || this.items.length === 0;
      this.items.forEach((item, index) => this.cards.append(this.card(item, index)));
    }

    card(item, index) {
      const card = make("section", `card severity-${item.severity === "warning" ? "warning" : "suggestion"}`);
      card.dataset.empathyNudge = item.rule;
      card.tabIndex = -1;
      card.setAttribute("aria-label", "Empathy nudge");
      const question = item.question_text || questionText(item.question);
      if (question) card.append(make("p", "question", question));
      if (item.text) card.append(make("p", "quote", `“${item.text}”`));
      card.append(make("p", "message", item.message || ""));
      const empowered = Array.isArray(item.empowered) ? item.empowered.map(String).filter(Boolean) : [];
      if (empowered.length) {
        // What the team may offer without asking (questions 3 and 5): said plainly, as text.
        card.append(make("p", "empowered", `You're empowered to: ${empowered.join("; ")}`));
      }
      const list = make("div", "suggestions");
      for (const suggestion of item.suggestions || []) {
        const row = make("div", "suggestion");
        row.dataset.empathyNudge = item.rule;
        const apply = make("button", "apply", "Apply");
        apply.type = "button";
        apply.dataset.empathyNudge = item.rule;
        apply.title = index === 0 ? "Apply (Alt+Enter)" : "Apply";
        apply.setAttribute("aria-label", `Apply: ${suggestion}`);
        apply.addEventListener("click", () => this.apply(item, suggestion));
        row.append(apply, make("span", "suggestion-text", suggestion));
        list.append(row);
      }
      card.append(list);
      const peer = item.peer_example;
      if (peer && typeof peer.text === "string" && peer.text) {
        // A teammate's real reply a trainer picked: shown as text to learn from, not applied
        // (it answers another customer; the suggestions above are the one-click fixes).
        const example = make("figure", "peer-example");
        example.dataset.empathyNudge = item.rule;
        example.append(make("figcaption", "peer-label", "How a teammate put it"));
        example.append(make("blockquote", "peer-text", peer.text));
        card.append(example);
      }
      const actions = make("div", "actions");
      actions.append(
        this.button("Dismiss", "dismiss", item, () => this.feedback(item, "dismissed")),
        this.button("Not helpful", "unhelpful", item, () => this.feedback(item, "unhelpful")),
      );
      card.append(actions);
      return card;
    }

    button(label, className, item, onClick) {
      const button = make("button", className, label);
      button.type = "button";
      button.dataset.empathyNudge = item.rule;
      button.addEventListener("click", onClick);
      return button;
    }

    remove(item) {
      this.items = this.items.filter((i) => i !== item);
      this.draw();
    }

    feedback(item, action) {
      this.dismissed.add(this.key(item));
      this.remove(item);
      this.editable.focus({ preventScroll: true });
      this.options.onFeedback?.(item, action);
    }

    /** Replace the flagged span (or append, for whole-conversation nudges) with a suggestion. */
    async apply(item, suggestion) {
      const text = textOf(this.editable);
      let span = item.start === item.end ? null : locate(text, item);
      if (!span) {
        const prefix = text && !/\s$/.test(text) ? " " : "";
        span = { start: text.length, end: text.length };
        suggestion = prefix + suggestion;
      }
      this.remove(item);
      const ok = await replaceSpan(this.editable, span.start, span.end, suggestion);
      if (ok) this.options.onApply?.(item, suggestion.trim());
    }

    onKey(event) {
      const first = this.items[0];
      if (event.key === "Escape" && !this.closed && this.items.length) {
        const inCard = Boolean(this.shadow.activeElement); // read before hiding the cards drops it
        this.closed = true;
        this.draw();
        if (inCard) this.editable.focus({ preventScroll: true });
        event.stopPropagation();
        return;
      }
      if (!first) return;
      // The shortcut fixes a flagged phrase first; a whole-message nudge (a customer left
      // waiting) only when nothing in the text is flagged.
      const target = this.items.find((i) => i.end > i.start && i.suggestions?.length) || first;
      if (event.altKey && event.key === "Enter" && target.suggestions?.length) {
        event.preventDefault();
        event.stopPropagation();
        this.apply(target, target.suggestions[0]);
      } else if (event.altKey && event.key === "ArrowDown") {
        event.preventDefault();
        this.closed = false;
        this.draw();
        this.cards.querySelector("button")?.focus();
      }
    }

    /** Cards go just below the first highlight, or above the composer when there is no room. */
    placeCards() {
      if (this.cards.hidden || !this.editable.isConnected) return;
      const win = this.editable.ownerDocument.defaultView;
      const box = this.editable.getBoundingClientRect();
      const firstMark = this.layer.firstElementChild?.getBoundingClientRect();
      const anchor = firstMark && firstMark.height ? firstMark : box;
      const height = this.cards.offsetHeight;
      const width = Math.min(360, win.innerWidth - 16);
      const left = Math.max(8, Math.min(anchor.left, win.innerWidth - width - 8));
      let top = anchor.bottom + 6;
      if (top + height > win.innerHeight - 8) top = Math.max(8, (firstMark ? anchor.top : box.top) - height - 6);
      Object.assign(this.cards.style, { left: `${left}px`, top: `${top}px`, width: `${width}px` });
    }
  }

  root.EmpathyNudgeUI = {
    QUESTIONS,
    textOf,
    attach(editable, options = {}) {
      return new NudgeView(editable, options);
    },
  };
})(typeof window !== "undefined" ? window : globalThis);
