// Finding the reply composer and the customer's messages on a helpdesk page.
// Plain script: defines one global, EmpathyDetect.
"use strict";

(function (root) {
  const OPTED_OUT = '[data-enable-grammarly="false"], [data-gramm="false"], [data-empathy="off"]';
  const SENSITIVE = /pass(word|wd)?|card|cvc|cvv|iban|ssn|secret|token|pin\b/i;

  /** True for fields we must never read: passwords, payment details, opted-out areas. */
  function isForbidden(el) {
    if (el.closest(OPTED_OUT)) return true;
    if (el.tagName === "INPUT") return true; // replies are written in textareas and editors, not inputs
    const autocomplete = (el.getAttribute("autocomplete") || "").toLowerCase();
    if (autocomplete.startsWith("cc-") || autocomplete.includes("password")) return true;
    const names = `${el.getAttribute("name") || ""} ${el.id || ""}`;
    return SENSITIVE.test(names);
  }

  /** The editable root for an element: the textarea, or the outermost contenteditable host. */
  function editableRoot(el) {
    if (!el || el.nodeType !== Node.ELEMENT_NODE) return null;
    if (el.tagName === "TEXTAREA") return el.readOnly || el.disabled ? null : el;
    if (!el.isContentEditable) return null;
    let rootEl = el;
    while (rootEl.parentElement && rootEl.parentElement.isContentEditable) rootEl = rootEl.parentElement;
    return rootEl;
  }

  /** The deepest focused element, looking through open shadow roots. */
  function deepActiveElement(doc) {
    let active = doc.activeElement;
    while (active && active.shadowRoot && active.shadowRoot.activeElement) {
      active = active.shadowRoot.activeElement;
    }
    return active;
  }

  /** A composer for a focused element, honouring the site's composer selector when there is one. */
  function composerFor(el, selector) {
    const rootEl = editableRoot(el);
    if (!rootEl || isForbidden(rootEl)) return null;
    if (selector) {
      try {
        if (!rootEl.matches(selector) && !rootEl.closest(selector)) {
          // The selector may name a wrapper around the editable (e.g. ".reply-box .ProseMirror").
          const inside = [...rootEl.ownerDocument.querySelectorAll(selector)];
          if (!inside.some((c) => c.contains(rootEl))) return null;
        }
      } catch {
        return null; // a broken selector never breaks the page; options validate it
      }
    }
    return rootEl;
  }

  /** Composers the site's selector names, without waiting for focus. */
  function composersBySelector(doc, selector) {
    if (!selector) return [];
    try {
      return [...doc.querySelectorAll(selector)]
        .map((el) => (el.tagName === "TEXTAREA" || el.isContentEditable ? editableRoot(el) : null))
        .filter((el) => el && !isForbidden(el));
    } catch {
      return [];
    }
  }

  function customerMessages(doc, selector) {
    if (!selector) return [];
    try {
      return [...doc.querySelectorAll(selector)].filter((el) => !el.closest(OPTED_OUT));
    } catch {
      return [];
    }
  }

  root.EmpathyDetect = {
    isForbidden,
    editableRoot,
    deepActiveElement,
    composerFor,
    composersBySelector,
    customerMessages,
    hash: root.EmpathySettings.hash, // stable ids: the same after a reload
  };
})(self);
