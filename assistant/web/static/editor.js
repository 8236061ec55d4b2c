// Lexicon editor: live validation and "Try it" for the rule form, confirmations.
// No inline scripts: this file is loaded with defer and finds its elements by id.
"use strict";

(function () {
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  const form = document.getElementById("rule-form");
  if (!form) return;
  const status = document.getElementById("try-status");
  const problems = document.getElementById("try-problems");
  let timer = null;
  let sequence = 0;

  function item(list, text, className, matches) {
    const li = document.createElement("li");
    if (className) li.className = className;
    li.textContent = text;
    if (matches && matches.length) {
      const mark = document.createElement("mark");
      mark.textContent = matches.join(", ");
      li.append(" — flags ", mark);
    }
    list.append(li);
  }

  function show(result) {
    problems.replaceChildren();
    for (const p of result.problems || []) item(problems, p);
    const sentences = document.getElementById("try-sentences");
    const examples = document.getElementById("try-examples");
    sentences.replaceChildren();
    examples.replaceChildren();
    for (const s of result.sentences || []) {
      item(sentences, s.text, s.matches.length ? "flagged" : "", s.matches);
    }
    for (const e of result.examples || []) {
      const right = e.flagged === (e.expected === "flag");
      const label = (e.expected === "flag" ? "should flag: " : "should pass: ") + e.text;
      item(examples, (right ? "✓ " : "✗ ") + label, right ? "" : "wrong");
    }
    const recent = result.recent;
    document.getElementById("try-recent").textContent = recent
      ? `Would have flagged ${recent.flagged} of the last ${recent.checked} stored messages.`
      : "–";
    status.textContent = result.ok ? "The rule is valid." : "The rule has problems (listed below).";
    status.className = result.ok ? "ok" : "bad";
    form.dataset.valid = result.ok ? "yes" : "no";
  }

  async function check() {
    const mine = ++sequence;
    status.textContent = "Checking…";
    try {
      const response = await fetch(form.dataset.tryUrl, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const result = await response.json();
      if (mine === sequence) show(result);
    } catch (error) {
      if (mine === sequence) status.textContent = `Could not check the rule: ${error.message}`;
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  }
  form.addEventListener("input", soon);
  document.getElementById("try_sentences").addEventListener("input", soon);
  check();
})();
