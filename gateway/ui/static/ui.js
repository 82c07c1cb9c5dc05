// The dashboard's one script: live regions, copy buttons, log tails. Pages work without it.
"use strict";

// An element with data-live="URL" is replaced by the HTML fragment at URL every
// data-every milliseconds, while the tab is visible; a hidden tab asks nothing.
function startLive(el) {
  const every = Number(el.dataset.every || 2000);
  let timer = null;
  async function refresh() {
    timer = null;
    if (document.hidden) { el.dataset.paused = ""; return; }
    delete el.dataset.paused;
    try {
      const answer = await fetch(el.dataset.live, { headers: { "X-Fragment": "1" } });
      if (answer.redirected || answer.status === 401) { location.reload(); return; }
      if (answer.ok) {
        const html = await answer.text();
        if (html !== el.innerHTML) el.innerHTML = html;
        if (el.querySelector("[data-final]")) return;  // nothing more will change
      }
    } catch (e) { /* the gateway restarting: try again next time */ }
    if (!el.hasAttribute("data-stop")) timer = setTimeout(refresh, every);
  }
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) refresh();
  });
  timer = setTimeout(refresh, every);
}

// An element with data-tail="URL" shows the lines the URL streams, newest at the bottom.
async function startTail(el) {
  const keep = Number(el.dataset.keep || 2000);
  for (;;) {
    try {
      const answer = await fetch(el.dataset.tail);
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        const lines = pending.split("\n");
        pending = lines.pop();
        const stick = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
        for (const line of lines) if (line) el.append(line + "\n");
        while (el.childNodes.length > keep) el.firstChild.remove();
        if (stick) el.scrollTop = el.scrollHeight;
      }
    } catch (e) { /* reconnect below */ }
    if (el.hasAttribute("data-once")) return;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function startCopy(button) {
  button.addEventListener("click", async () => {
    const text = button.dataset.copy
      || document.getElementById(button.dataset.copyFrom)?.textContent || "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (e) {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = button.dataset.label || "Copy"; }, 1500);
  });
}

// Pretty / raw views of one output: buttons with data-show="id" among data-views="group".
function startViews(button) {
  button.addEventListener("click", () => {
    for (const other of document.querySelectorAll(`[data-view-of="${button.dataset.group}"]`)) {
      other.hidden = other.id !== button.dataset.show;
    }
    for (const b of document.querySelectorAll(`[data-group="${button.dataset.group}"]`)) {
      b.setAttribute("aria-pressed", String(b === button));
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach(startLive);
  document.querySelectorAll("[data-tail]").forEach(startTail);
  document.querySelectorAll("[data-copy], [data-copy-from]").forEach(startCopy);
  document.querySelectorAll("[data-show]").forEach(startViews);
});
