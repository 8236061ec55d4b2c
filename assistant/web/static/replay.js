// Transcript replay: reveals the server-rendered messages one by one in their real timing
// (or 2x / 5x, or stepped). It never builds markup from data: the text is already escaped in
// the page, this only toggles visibility (no innerHTML anywhere).
"use strict";

(function () {
  const list = document.getElementById("transcript");
  if (!list) return;
  const items = Array.from(list.querySelectorAll("li[data-offset]"));
  const status = document.getElementById("replay-status");
  const playButton = document.getElementById("replay-play");
  const speed = document.getElementById("replay-speed");
  const LONGEST_PAUSE = 60; // seconds: a lunch break should not stall the replay
  let shown = items.length; // how many items are visible (all, until the replay starts)
  let focus = -1; // the item last stepped or jumped to
  let timer = null;

  function offset(i) {
    return parseFloat(items[i].dataset.offset) || 0;
  }

  function render() {
    items.forEach((item, i) => {
      item.hidden = i >= shown;
      item.classList.toggle("current", i === focus);
    });
    if (focus >= 0 && items[focus]) items[focus].scrollIntoView({ block: "nearest" });
    const state = timer ? "Playing" : shown >= items.length ? "All shown" : "Paused";
    status.textContent = `${state} · ${shown} of ${items.length}`;
    status.dataset.shown = String(shown);
    playButton.textContent = timer ? "Pause" : "Play";
  }

  function show(count) {
    shown = Math.max(0, Math.min(items.length, count));
    focus = shown - 1;
  }

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  function scheduleNext() {
    if (shown >= items.length) {
      stop();
      render();
      return;
    }
    const gap = Math.min(LONGEST_PAUSE, Math.max(0, offset(shown) - offset(shown - 1)));
    timer = setTimeout(() => {
      show(shown + 1);
      scheduleNext();
      render();
    }, (gap * 1000) / (parseFloat(speed.value) || 1));
  }

  function togglePlay() {
    if (timer) {
      stop();
    } else {
      if (shown >= items.length) show(1); // start over from the first message
      timer = -1; // playing (set to the real timer just below)
      scheduleNext();
    }
    render();
  }

  function step(delta) {
    stop();
    show(delta > 0 ? shown + 1 : Math.max(1, shown - 1));
    render();
  }

  function nextFlag() {
    stop();
    // While replaying: reveal up to the next flagged item not yet shown. With everything
    // shown: move the highlight to the next flagged item (wrapping round).
    const from = shown < items.length ? shown - 1 : focus;
    let found = items.findIndex((item, i) => i > from && item.dataset.flagged === "1");
    if (found < 0 && shown >= items.length) {
      found = items.findIndex((item) => item.dataset.flagged === "1");
    }
    if (found < 0) {
      status.textContent = "No more flags.";
      return;
    }
    shown = Math.max(shown, found + 1);
    focus = found;
    render();
  }

  playButton.addEventListener("click", togglePlay);
  document.getElementById("replay-step").addEventListener("click", () => step(1));
  document.getElementById("replay-back").addEventListener("click", () => step(-1));
  document.getElementById("replay-next-flag").addEventListener("click", nextFlag);
  document.getElementById("replay-all").addEventListener("click", () => {
    stop();
    show(items.length);
    render();
  });
  speed.addEventListener("change", () => {
    if (timer) {
      stop();
      timer = -1;
      scheduleNext();
    }
  });

  document.addEventListener("keydown", (event) => {
    // Typing a note or an example must not drive the replay.
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    // Space on a focused button or link activates it (the Play button plays by itself).
    if (event.key === " " && event.target.closest("button, summary, a")) return;
    if (event.key === " ") togglePlay();
    else if (event.key === "ArrowRight") step(1);
    else if (event.key === "ArrowLeft") step(-1);
    else if (event.key === "n" || event.key === "N") nextFlag();
    else return;
    event.preventDefault();
  });

  render();
})();
