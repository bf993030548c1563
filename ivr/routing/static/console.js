// Agent console: polls the JSON API every 2 s; every POST carries the session's CSRF token.
// Caller data is only ever put in the page with textContent (never innerHTML).
"use strict";

const POLL_MS = 2000;
const CLASS_LABEL = { scam: "诈骗风险", elder: "长者", normal: "普通" };
const DIALECT_LABEL = { mandarin: "普通话", cantonese: "粤语", sichuanese: "四川话" };
const FLAG_LABEL = { repeat_caller: "重复来电", watch_list: "关注名单" };
const STATUS_LABEL = {
  accepted: "已接听", dequeued: "正在转接", connecting: "正在接通", ended: "通话结束",
  calling_back: "正在回电", callback_failed: "回电未接通",
};

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
  return `${Math.floor(s / 60)}分${String(s % 60).padStart(2, "0")}秒`;
}

function badges(entry) {
  const out = [el("span", CLASS_LABEL[entry.priority] || entry.priority,
                  `badge ${entry.priority}`)];
  const ctx = entry.context || {};
  if (ctx.elder && entry.priority !== "elder") out.push(el("span", "长者", "badge elder"));
  if (entry.callback) out.push(el("span", "回电", "badge callback"));
  return out;
}

function flags(ctx) {
  return (Array.isArray(ctx.flags) ? ctx.flags : []).map(
    (f) => el("span", FLAG_LABEL[f] || f, "badge flag"));
}

function dialectOf(entry) {
  const d = (entry.context || {}).dialect || entry.skill || "mandarin";
  return DIALECT_LABEL[d] || d;
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
    row.append(el("td", dialectOf(entry)));
    row.append(el("td", ctx.reason || ""));
    const fl = el("td"); fl.append(...flags(ctx)); row.append(fl);
    row.append(el("td", ctx.caller_masked || ""));
    body.append(row);
  });
  $("total").textContent = data.total;
  $("sizes").textContent =
    `诈骗风险 ${data.sizes.scam} · 长者 ${data.sizes.elder} · 普通 ${data.sizes.normal}`;
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
  $("cur-badges").replaceChildren(...badges(entry));
  $("cur-caller").textContent = ctx.caller_masked || "";
  $("cur-wait").textContent = minutes(entry.waited_seconds);
  $("cur-dialect").textContent = dialectOf(entry);
  $("cur-reason").textContent = ctx.reason || "";
  $("cur-scam").textContent = scam ? (scam.category || "是") : "无";
  $("cur-phrases").textContent =
    scam ? listText(scam.matched || scam.phrases || scam.words) : "";
  $("cur-path").textContent = listText(ctx.menu_path).replaceAll("、", " → ");
  $("cur-transcript").textContent = ctx.transcript_excerpt || (scam && scam.excerpt) || "";
  $("cur-flags").replaceChildren(...flags(ctx));
  $("cur-status").textContent = STATUS_LABEL[entry.status] || entry.status || "";
}

async function refresh() {
  try {
    const resp = await fetch(document.body.dataset.api, { credentials: "same-origin" });
    if (resp.status === 401) { window.location.reload(); return; }
    const data = await resp.json();
    renderQueue(data);
    renderCurrent(data.current);
  } catch (err) {
    $("message").textContent = "连接中断，正在重试…";
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
    $("message").textContent = "已接听，正在转接来电";
    renderCurrent(r.data.entry);
  } else if (r.ok) {
    $("message").textContent = "暂无可接听的来电";
    $("accept").disabled = false;
  } else {
    $("message").textContent = r.data.error || `操作失败（${r.status}）`;
    $("accept").disabled = false;
  }
  refresh();
}

async function finish() {
  const r = await post(document.body.dataset.finish, { disposition: $("disposition").value });
  $("message").textContent = r.ok ? "已完成" : (r.data.error || `操作失败（${r.status}）`);
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("accept").addEventListener("click", accept);
  $("finish").addEventListener("click", finish);
  refresh();
  setInterval(refresh, POLL_MS);
});
