// safesim explorer: submit runs, poll their state, show results as replicates finish.
// Plain JavaScript, no build step, no external requests.
"use strict";
(function () {
  // Picking a scenario or platform with the mouse loads it at once; with the keyboard, arrows only
  // move the choice and Enter (or the Show button) loads it, so reading the list never leaves the page.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    let keyed = false;
    sel.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); sel.form.submit(); } else { keyed = true; }
    });
    sel.addEventListener("pointerdown", function () { keyed = false; });
    sel.addEventListener("change", function () { if (!keyed) sel.form.submit(); });
  });

  const form = document.getElementById("run-form");
  if (!form) return;
  const results = document.getElementById("results");
  const queueBox = document.getElementById("queue");
  const errorBox = document.getElementById("form-error");
  const changed = document.getElementById("changed");
  const POLL_MS = 300;
  const MAX_POLLS = 4000; // about 20 minutes: a bounded loop, never an endless one
  const pending = [];     // runs submitted, oldest first; each is polled in turn
  let seriesMetric = "";  // the time series picked (blank: the server's default)
  let shownHtml = "";     // the results fragment on the page, redrawn only when it changes

  function countChanges() {
    let n = 0;
    form.querySelectorAll("[data-initial]").forEach(function (el) {
      if (String(el.value) !== el.dataset.initial) n += 1;
    });
    const bundles = form.querySelectorAll("input[name=bundles]:checked").length;
    changed.textContent = n + " control(s) changed, " + bundles + " bundle(s) ticked";
  }
  form.addEventListener("input", countChanges);
  form.addEventListener("change", countChanges);
  form.addEventListener("reset", function () { setTimeout(countChanges, 0); });

  function bar(state) {
    const pct = state.total ? Math.round(100 * state.done / state.total) : 0;
    const where = state.status === "queued"
      ? "queued (" + state.queue_position + " ahead)"
      : state.status;
    return '<div class="job" id="job-' + state.id + '"><span>' + escapeHtml(state.label) + ": " + where +
      ", " + state.done + "/" + state.total + '</span> <progress max="' + state.total + '" value="' + state.done +
      '" aria-label="replicates finished">' + pct + "%</progress>" +
      (state.status === "running" || state.status === "queued"
        ? ' <button type="button" class="cancel" data-id="' + state.id + '">Cancel</button>' : "") +
      (state.error ? ' <span class="error">' + escapeHtml(state.error) + "</span>" : "") + "</div>";
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  const states = {};
  function renderQueue() {
    queueBox.innerHTML = Object.keys(states).map(function (k) { return bar(states[k]); }).join("");
  }

  queueBox.addEventListener("click", function (ev) {
    const id = ev.target && ev.target.dataset ? ev.target.dataset.id : null;
    if (!id) return;
    fetch("/api/runs/" + id + "/cancel", { method: "POST" });
  });

  // Redraw the results, keeping what the reader had open and where the keyboard focus was.
  function showResults(html) {
    if (html === shownHtml) return;
    const open = Array.from(results.querySelectorAll("details[id][open]")).map(function (d) { return d.id; });
    const active = document.activeElement;
    const focusId = active && results.contains(active) && active.id ? active.id : "";
    results.innerHTML = html;
    shownHtml = html;
    open.forEach(function (id) { const d = document.getElementById(id); if (d) d.open = true; });
    if (focusId) { const el = document.getElementById(focusId); if (el) el.focus(); }
  }

  function metricQuery() {
    return seriesMetric ? "?metric=" + encodeURIComponent(seriesMetric) : "";
  }

  // The time-series picker: swap in the chosen metric's figure; later redraws keep the choice.
  results.addEventListener("change", async function (ev) {
    if (!ev.target || ev.target.id !== "ts-metric") return;
    seriesMetric = ev.target.value;
    const box = document.getElementById("timeseries");
    const result = ev.target.closest(".result");
    if (!box || !result) return;
    box.setAttribute("aria-busy", "true");
    try {
      const r = await fetch("/api/runs/" + result.dataset.job + "/timeseries" + metricQuery(), { cache: "no-store" });
      const body = await r.json();
      if (r.ok) {
        box.innerHTML = body.svg;
        box.dataset.metric = body.metric;
      } else {
        box.textContent = body.error || "The figure could not be drawn.";
      }
    } catch (e) {
      box.textContent = "The server did not answer: is safesim serve still running?";
    }
    box.removeAttribute("aria-busy");
  });

  async function poll(id) {
    for (let i = 0; i < MAX_POLLS; i += 1) {
      let state;
      try {
        const r = await fetch("/api/runs/" + id + metricQuery(), { cache: "no-store" });
        state = await r.json();
      } catch (e) {
        await new Promise(function (ok) { setTimeout(ok, POLL_MS * 3); });
        continue;
      }
      states[id] = state;
      renderQueue();
      if (state.html) showResults(state.html);
      if (state.status === "done" || state.status === "cancelled" || state.status === "error") {
        if (state.status !== "error") setTimeout(function () { delete states[id]; renderQueue(); }, 4000);
        return;
      }
      await new Promise(function (ok) { setTimeout(ok, POLL_MS); });
    }
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    errorBox.textContent = "";
    const data = new FormData(form);
    let r;
    try {
      r = await fetch("/api/runs", { method: "POST", body: data });
    } catch (e) {
      errorBox.textContent = "The server did not answer: is safesim serve still running?";
      return;
    }
    const body = await r.json();
    if (!r.ok) { errorBox.textContent = body.error || "The run was refused."; return; }
    states[body.id] = { id: body.id, label: "run " + body.id, status: "queued", done: 0, total: 0, queue_position: 0 };
    renderQueue();
    pending.push(body.id);
    // In one column (a tablet) the results are below the form: bring them into view.
    if (window.matchMedia("(max-width: 1000px)").matches) {
      document.getElementById("results-h").scrollIntoView({ block: "start" });
    }
    poll(body.id);
  });
  countChanges();
})();
