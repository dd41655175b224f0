// hitl review inbox: small progressive enhancements. Every form works without this file.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const body = document.body;
  const runId = body.dataset.run;
  let dirty = false;
  document.documentElement.classList.add("js");

  function debounce(fn, ms) {
    let t;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  async function postJSON(url, data) {
    const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data), credentials: "same-origin" });
    const type = res.headers.get("content-type") || "";
    return { ok: res.ok, status: res.status, body: type.includes("json") ? await res.json() : await res.text() };
  }

  // ---------------------------------------------------------------- forms
  function enhance(root) {
    $$("form[data-guard]", root).forEach((form) => {
      form.addEventListener("submit", (e) => {
        if (form.dataset.confirm && !confirm(form.dataset.confirm)) { e.preventDefault(); return; }
        // One decision per render: a second click must not send a second request.
        setTimeout(() => $$("button", form).forEach((b) => { b.disabled = true; }), 0);
        dirty = false;
      });
      form.addEventListener("input", () => { dirty = true; });
    });
    $$(".tool-card", root).forEach((card) => {
      const show = () => {
        const chosen = ($("input[type=radio]:checked", card) || {}).value;
        $$(".reveal", card).forEach((w) => {
          const on = (w.dataset.showFor || "").split(" ").includes(chosen);
          w.classList.toggle("on", on);
          // A hidden field is not part of this decision: it neither blocks Send nor is sent.
          $$("input, select, textarea", w).forEach((el) => { el.disabled = !on; });
        });
        $$("textarea[data-required-for]", card).forEach((t) => { t.required = t.dataset.requiredFor.split(" ").includes(chosen); });
        if (chosen === "edit") preview(card.closest("form"));
      };
      card.addEventListener("change", show);
      show();
    });
    $$("form[data-review]", root).forEach((form) => form.addEventListener("input", debounce(() => preview(form), 250)));
    $$("textarea[data-json]", root).forEach((area) => {
      parses(area);
      area.addEventListener("input", () => parses(area));
      area.addEventListener("input", debounce(() => checkJSON(area), 300));
    });
    $$("form.answer, form.review, details.raw form", root).forEach(sendOnlyValid);
    $$("[data-open]", root).forEach((a) => a.addEventListener("click", () => { const d = document.getElementById(a.dataset.open); if (d) d.open = true; }));
    $$("time[data-until]", root).forEach(countdown);
  }

  // Send stays disabled while the form is invalid: the schema's constraints the page carried (min, max,
  // step, pattern, required, minlength), JSON that does not parse or does not fit, and exclusive bounds.
  // The server checks every answer again; this only saves a round trip and a lost answer.
  function sendOnlyValid(form) {
    const sends = $$("button[type=submit]:not([formnovalidate])", form);
    if (!sends.length || !$("input:not([type=hidden]), select, textarea", form)) return;
    let touched = false;  // an empty required field says why once the person has typed or chosen something
    const update = (e) => {
      touched = touched || Boolean(e && e.type !== "hitl:validity");
      $$("input[data-gt], input[data-lt]", form).forEach(exclusiveBounds);
      const bad = $$("input, select, textarea", form).find((el) => el.willValidate && !el.validity.valid);
      sends.forEach((b) => { b.disabled = !!bad; b.toggleAttribute("data-invalid", !!bad); });
      const say = bad && (touched || bad.value !== "");
      let why = $(".why-invalid", form);
      if (say && !why) {
        why = document.createElement("p");
        why.className = "why-invalid";
        why.setAttribute("aria-live", "polite");
        sends[sends.length - 1].parentElement.after(why);
      }
      if (why) why.textContent = say ? `Cannot send yet: ${fieldName(bad)} ${bad.validationMessage}` : "";
    };
    ["input", "change", "hitl:validity"].forEach((name) => form.addEventListener(name, update));
    update();
  }

  function fieldName(el) {
    const label = el.closest("label");
    const text = label && $(".label", label);
    return text ? `${text.textContent.replace(/\s*\(.*\)\s*$/, "").trim()}:` : "";
  }

  function exclusiveBounds(input) {
    const v = input.valueAsNumber, gt = input.dataset.gt, lt = input.dataset.lt;
    let message = "";
    if (!Number.isNaN(v) && gt !== undefined && !(v > Number(gt))) message = `Must be greater than ${gt}.`;
    if (!Number.isNaN(v) && lt !== undefined && !(v < Number(lt))) message = `Must be less than ${lt}.`;
    input.setCustomValidity(message);
  }

  // JSON that does not parse makes its field invalid at once (the message itself shows after a pause).
  function parses(area) {
    if (!area.value.trim()) { area.setCustomValidity(""); return; }  // empty: `required` says it
    try { JSON.parse(area.value); area.setCustomValidity(""); } catch (err) { area.setCustomValidity("Not valid JSON: " + err.message); }
  }

  // A claim's end, as time left; once it passed, the run's own timer frees the question.
  function countdown(t) {
    const until = Date.parse(t.dataset.until), shown = t.textContent;
    const tick = () => {
      const left = Math.round((until - Date.now()) / 60000);
      t.textContent = left > 0 ? `${shown} (${left < 60 ? left + " min" : Math.round(left / 60) + " h"} left)` : `${shown} (ran out: reload)`;
      if (left > 0 && t.isConnected) setTimeout(tick, 30000);
    };
    if (!Number.isNaN(until)) tick();
  }

  // Edited tool-call arguments: the server reads the form as it will on submit and shows the diff.
  // Responses can arrive out of order: only the latest request's answer is shown.
  let previews = 0;
  async function preview(form) {
    if (!form) return;
    const ticket = ++previews;
    const fields = {};
    new FormData(form).forEach((v, k) => { if (typeof v === "string") fields[k] = v; });
    const res = await postJSON("/ui/api/preview", { run_id: runId, interrupt_id: form.dataset.review, fields });
    if (!res.ok || ticket !== previews) return;
    Object.entries(res.body.diffs || {}).forEach(([i, html]) => {
      const box = $(`[data-preview="${i}"]`, form);
      if (box) { box.innerHTML = html; box.dataset.title = ""; }
    });
  }

  async function checkJSON(area) {
    const ticket = area.dataset.ticket = String(Number(area.dataset.ticket || 0) + 1);
    const out = area.parentElement.querySelector(".json-error") || area.nextElementSibling;
    let value;
    try { value = JSON.parse(area.value); } catch (err) { if (out) { out.textContent = "Not valid JSON: " + err.message; out.classList.remove("ok"); } return; }
    if (out) { out.textContent = ""; out.classList.remove("ok"); }
    if (area.dataset.check) {
      const res = await postJSON("/ui/api/check", { run_id: runId, interrupt_id: area.dataset.check, value });
      if (ticket !== area.dataset.ticket) return;
      if (out) { out.textContent = res.ok ? "Fits the answer's schema." : res.body.detail; out.classList.toggle("ok", res.ok); }
      // Only a definite "does not fit" (422) blocks Send; any other trouble is for the server to say on send.
      area.setCustomValidity(res.status === 422 ? String(res.body.detail || "does not fit the answer's schema") : "");
      if (area.form) area.form.dispatchEvent(new Event("hitl:validity"));
    }
    if (area.dataset.diffBase !== undefined) {
      const box = $("[data-state-diff]");
      const res = await postJSON("/ui/api/diff", { before: JSON.parse(area.dataset.diffBase), after: value });
      if (box && res.ok && ticket === area.dataset.ticket) box.innerHTML = res.body;
    }
  }

  // ---------------------------------------------------------------- keyboard
  let selected = -1;
  function rows() { return $$("tr.row"); }
  function select(i) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(i, all.length - 1));
    all.forEach((r, n) => r.classList.toggle("selected", n === selected));
    all[selected].scrollIntoView({ block: "nearest" });
  }
  let pendingG = false;
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (typing(t) || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.key === "?") { const d = $("#help"); if (d && !d.open) d.showModal(); e.preventDefault(); return; }
    if (pendingG) { pendingG = false; if (e.key === "i") { location.href = inboxHref(); return; } }
    if (reviewKey(e)) return;
    if (e.key === "g") { pendingG = true; return; }
    if (e.key === "j") { select(selected + 1); return; }
    if (e.key === "k") { select(selected - 1); return; }
    if ((e.key === "o" || e.key === "Enter") && selected >= 0 && rows()[selected]) { location.href = rows()[selected].dataset.href; return; }
    const target = $$(`[data-key="${e.key}"]`).find((b) => !b.disabled && b.offsetParent !== null);
    if (target) { e.preventDefault(); target.click(); }
  });
  $$("[data-help]").forEach((b) => b.addEventListener("click", () => $("#help").showModal()));

  // ---------------------------------------------------------------- clearing a queue
  // A key pressed in a text field is typing; on a tick box or a radio (just clicked) it is still a shortcut.
  function typing(t) { return t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio"; }

  // The inbox a run page came from, filter and all (its back link carries it): `g i` returns there.
  function inboxHref() {
    if (body.dataset.page === "inbox") return location.pathname + location.search;
    const back = $("[data-inbox]");
    return back ? back.dataset.inbox : "/";
  }

  // x ticks the selected row, shift+x ticks every row from the last one ticked; e edits the answer.
  let anchor = -1;
  function reviewKey(e) {
    if (e.key === "x" || e.key === "X") {
      const all = rows();
      if (selected < 0 || !all[selected]) return false;
      const box = (r) => $("input[name=run]", r);
      const from = e.key === "X" && anchor >= 0 ? Math.min(anchor, selected) : selected;
      const to = e.key === "X" && anchor >= 0 ? Math.max(anchor, selected) : selected;
      const on = e.key === "X" ? true : !(box(all[selected]) || {}).checked;
      for (let n = from; n <= to; n++) { const b = box(all[n]); if (b) b.checked = on; }
      anchor = selected;
      ticked();
      e.preventDefault();
      return true;
    }
    if (e.key === "e" && body.dataset.page === "run") { edit(); e.preventDefault(); return true; }
    return false;
  }

  // The bulk bar unfolds once a run is ticked, and says how many are.
  function ticked() {
    const n = $$("input[name=run]:checked").length;
    const count = $("[data-ticked]");
    if (count) count.textContent = String(n);
    const fold = $("details.bulk-fold");
    if (fold && n && !fold.open) fold.open = true;
  }
  document.addEventListener("change", (e) => { if (e.target.name === "run") ticked(); });

  // e: the first question's editable part (a tool call's edit, the answer's first field), else the state editor.
  function edit() {
    const card = $(".question .tool-card");
    const radio = card && $("input[type=radio][value=edit]", card);
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      const first = $(".reveal.on input, .reveal.on textarea, .reveal.on select", card);
      if (first) first.focus();
      return;
    }
    const field = $$(".question form.answer input:not([type=hidden]), .question form.answer textarea, .question form.answer select")
      .find((f) => f.offsetParent !== null);
    if (field) { field.focus(); return; }
    const editor = $("#state-editor");
    if (editor) { editor.open = true; const area = $("textarea", editor); if (area) area.focus(); }
  }

  // After a decision the server moves on to the next waiting run of the filter; "stay" keeps this run.
  function stayChoice() {
    const box = $("[data-stay]");
    if (!box) return;
    box.closest("label").hidden = false;
    box.checked = localStorage.getItem("hitl.stay") === "1";
    box.addEventListener("change", () => localStorage.setItem("hitl.stay", box.checked ? "1" : "0"));
    document.addEventListener("submit", (e) => {
      const form = e.target;
      if (!box.checked || !$("input[name=in]", form) || $("input[name=stay]", form)) return;
      const stay = document.createElement("input");
      Object.assign(stay, { type: "hidden", name: "stay", value: "1" });
      form.append(stay);
    }, true);
  }
  stayChoice();

  // A shortened run id copies as the whole id.
  document.addEventListener("copy", (e) => {
    const node = (document.getSelection() || {}).anchorNode;
    const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
    const link = el && el.closest("[data-full]");
    if (!link || !e.clipboardData) return;
    e.clipboardData.setData("text/plain", link.dataset.full);
    e.preventDefault();
  });
  document.addEventListener("click", (e) => {
    const row = e.target.closest && e.target.closest("tr.row");
    if (row && !e.target.closest("a, input, label, td.pick")) location.href = row.dataset.href;
  });
  $$("form[data-autosubmit]").forEach((f) => f.addEventListener("change", () => f.submit()));

  // ---------------------------------------------------------------- bulk answers
  // The preview is fetched in place, so a refusal leaves the filter, the ticks and the typed answer as they
  // are. Changing a tick or the answer drops the preview: what its confirmation sends is what it lists.
  function bulkAnswers() {
    const form = $("#bulk"), panel = $("#bulk-preview");
    if (!form || !panel) return;
    let asked = 0;
    const clear = () => {
      asked += 1;
      panel.replaceChildren();
      $$("tr.row.differs").forEach((r) => r.classList.remove("differs"));
    };
    const refuse = (text) => {
      const box = document.createElement("div");
      box.className = "refusal";
      box.setAttribute("role", "alert");
      box.dataset.testid = "bulk-refusal";
      const strong = document.createElement("strong");
      strong.textContent = "Not sent. ";
      box.append(strong, text);
      panel.replaceChildren(box);
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clear();
      const ticket = asked;
      const field = (name) => (form.elements[name] ? form.elements[name].value : "");
      const body = {
        runs: $$("input[name=run]:checked").map((c) => c.value),
        value: field("value"), node: field("node") || null, back: field("back"), batch_id: field("batch_id"),
      };
      let res;
      try { res = await postJSON("/ui/api/batch/preview", body); } catch (err) { res = { ok: false, body: { detail: "the server could not be reached; nothing was sent" } }; }
      if (ticket !== asked) return;
      if (!res.ok) { refuse((res.body && res.body.detail) || String(res.body)); return; }
      panel.innerHTML = res.body;
      $$("[data-kind-runs]", panel).slice(1).forEach((kind) => kind.dataset.kindRuns.split(" ").forEach((id) => {
        const row = $$("tr.row").find((r) => r.dataset.run === id);
        if (row) row.classList.add("differs");
      }));
      const cancel = $("[data-cancel-preview]", panel);
      if (cancel) cancel.addEventListener("click", clear);
      enhance(panel);
      panel.scrollIntoView({ block: "start" });
    });
    form.addEventListener("input", clear);
    document.addEventListener("change", (e) => { if (e.target.name === "run") clear(); });
  }
  bulkAnswers();

  // ---------------------------------------------------------------- live updates
  async function refresh(containerSel) {
    const url = new URL(location.href);
    url.searchParams.set("partial", "1");
    const res = await fetch(url, { credentials: "same-origin" });
    if (!res.ok) return;
    const box = $(containerSel);
    // Ticked runs stay ticked across a live refresh (the bulk action's selection).
    const ticked = new Set($$("input[name=run]:checked", box).map((c) => c.value));
    // A refusal came once (a signed flash, not the URL): it stays until the next page load.
    const refusal = $(".refusal", box);
    box.innerHTML = await res.text();
    const head = $(".run-head", box);
    if (refusal && !$(".refusal", box)) { if (head) head.after(refusal); else box.prepend(refusal); }
    $$("input[name=run]", box).forEach((c) => { c.checked = ticked.has(c.value); });
    enhance(box);
    if (selected >= 0) select(selected);
  }

  if (body.dataset.stream && window.EventSource) {
    const feed = new EventSource(body.dataset.stream);
    if (body.dataset.page === "inbox") {
      feed.addEventListener("changed", () => refresh("#inbox-body"));
    } else {
      const onChange = (e) => {
        const live = $("#live");
        if (!live || e.lastEventId === live.dataset.version) return;
        if (dirty) { const s = $(".stale"); if (s) s.hidden = false; return; }
        live.dataset.version = e.lastEventId;
        refresh("#live");
      };
      ["step", "paused", "resumed", "ended"].forEach((name) => feed.addEventListener(name, onChange));
      feed.addEventListener("end", () => feed.close());
    }
    // Never a silent stop: the server ends a feed it cannot keep with an `error` event (its reason as JSON),
    // and a dropped connection is retried by the browser, said here while it lasts.
    const lost = $("#feed-lost");
    const say = (reason) => {
      if (!lost) return;
      $("[data-reason]", lost).textContent = reason;
      lost.hidden = false;
    };
    feed.addEventListener("open", () => { if (lost && lost.dataset.final !== "1") lost.hidden = true; });
    feed.addEventListener("error", (e) => {
      if (e.data) {  // the server's own `error` event: final
        let reason = e.data;
        try { const d = JSON.parse(e.data); reason = d.message || d.error || e.data; } catch (_) { /* raw text */ }
        if (lost) lost.dataset.final = "1";
        say(reason);
        feed.close();
      } else if (feed.readyState === EventSource.CLOSED) {
        if (lost) lost.dataset.final = "1";
        say("the server closed the connection.");
      } else {
        say("lost the server; reconnecting…");
      }
    });
  }

  enhance(document);
})();
