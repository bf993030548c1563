// Agent console: polls the JSON API every 2 s; every POST carries the session's CSRF token.
// Caller data is only ever put in the page with textContent (never innerHTML).
// Every word shown comes from ivr/routing/console_text.py: an entry's `labels` (from the API)
// and the page messages in <body data-text>. Codes are shown only when no word exists.
"use strict";

const POLL_MS = 2000;
let TEXT = { page: {}, priority: {} };

function say(name, values) {
  let out = TEXT.page[name] || name;
  for (const [k, v] of Object.entries(values || {})) out = out.replaceAll(`{${k}}`, String(v));
  return out;
}

const $ = (id) => document.getElementById(id);
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function minutes(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return say("minutes", { m: Math.floor(s / 60), s: String(s % 60).padStart(2, "0") });
}

function labelsOf(entry) {
  return entry.labels || {};
}

function badges(entry) {
  const words = labelsOf(entry).badges || [entry.priority];
  const ctx = entry.context || {};
  const classes = [entry.priority];
  if (ctx.elder && entry.priority !== "elder") classes.push("elder");
  if (entry.callback) classes.push("callback");
  return words.map((w, i) => el("span", w, `badge ${classes[i] || ""}`));
}

function flags(entry) {
  return (labelsOf(entry).flags || []).map((f) => el("span", f, "badge flag"));
}

function renderQueue(data) {
  const body = $("queue-body");
  body.replaceChildren();
  data.entries.forEach((entry, i) => {
    const ctx = entry.context || {};
    const row = el("tr");
    row.dataset.callSid = entry.call_sid;
    row.className = `entry ${entry.priority}`;
    row.append(el("td", i + 1));
    const cls = el("td"); cls.append(...badges(entry)); row.append(cls);
    row.append(el("td", minutes(entry.waited_seconds)));
    row.append(el("td", labelsOf(entry).dialect || ctx.dialect || ""));
    row.append(el("td", labelsOf(entry).reason || ctx.reason || ""));
    const fl = el("td"); fl.append(...flags(entry)); row.append(fl);
    row.append(el("td", ctx.caller_masked || ""));
    body.append(row);
  });
  $("total").textContent = data.total;
  $("sizes").textContent = say("sizes", data.sizes);
  $("empty").hidden = data.total > 0;
}

function listText(value) {
  if (Array.isArray(value)) return value.join("、");
  return value || "";
}

function renderCurrent(entry) {
  $("current").hidden = !entry;
  $("accept").disabled = Boolean(entry);
  if (!entry) return;
  const ctx = entry.context || {};
  const scam = ctx.scam || null;
  const words = labelsOf(entry);
  $("cur-badges").replaceChildren(...badges(entry));
  $("cur-caller").textContent = ctx.caller_masked || "";
  $("cur-wait").textContent = minutes(entry.waited_seconds);
  $("cur-dialect").textContent = words.dialect || ctx.dialect || "";
  $("cur-reason").textContent = words.reason || ctx.reason || "";
  $("cur-scam").textContent = words.scam || "";
  $("cur-phrases").textContent =
    scam ? listText(scam.matched || scam.phrases || scam.words) : "";
  $("cur-path").textContent = (words.path || ctx.menu_path || []).join(" → ");
  $("cur-transcript").textContent = ctx.transcript_excerpt || (scam && scam.excerpt) || "";
  $("cur-flags").replaceChildren(...flags(entry));
  $("cur-status").textContent = words.status || "";
}

async function refresh() {
  try {
    const resp = await fetch(document.body.dataset.api, { credentials: "same-origin" });
    if (resp.status === 401) { window.location.reload(); return; }
    const data = await resp.json();
    renderQueue(data);
    renderCurrent(data.current);
  } catch (err) {
    $("message").textContent = say("offline");
  }
}

async function post(url, body) {
  const resp = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await resp.json(); } catch (err) { /* empty body */ }
  return { ok: resp.ok, status: resp.status, data };
}

async function accept() {
  $("accept").disabled = true;
  const r = await post(document.body.dataset.accept);
  if (r.ok && r.data.entry) {
    $("message").textContent = say("accepted");
    renderCurrent(r.data.entry);
  } else if (r.ok) {
    $("message").textContent = say("none_waiting");
    $("accept").disabled = false;
  } else {
    $("message").textContent = r.data.error || say("failed", { status: r.status });
    $("accept").disabled = false;
  }
  refresh();
}

async function finish() {
  const r = await post(document.body.dataset.finish, { disposition: $("disposition").value });
  $("message").textContent = r.ok ? say("finished")
    : (r.data.error || say("failed", { status: r.status }));
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  try { TEXT = JSON.parse(document.body.dataset.text || "{}"); } catch (err) { /* codes */ }
  $("accept").addEventListener("click", accept);
  $("finish").addEventListener("click", finish);
  refresh();
  setInterval(refresh, POLL_MS);
});
