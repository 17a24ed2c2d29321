// The worker's phone page: my open alarms with the resident's context; accept → arrived → resolve.
import { api, el, elapsed, follow, logout, sound, t, toggleLang, whoami } from "/static/common.js";

const OUTCOMES = ["handled", "false_alarm", "transported", "fire_extinguished", "other"];
const alarms = new Map();
const pending = JSON.parse(localStorage.getItem("watchpost-pending") ?? "[]");
let online = true;

const me = await whoami();
document.getElementById("lang").addEventListener("click", toggleLang);
document.getElementById("logout").addEventListener("click", logout);
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});

function save() { localStorage.setItem("watchpost-pending", JSON.stringify(pending)); }

// An action taken while offline waits here and is sent on reconnect (the API dedups replays).
async function send(id, verb, body) {
  try {
    const updated = await api(`/api/v1/alarms/${id}/${verb}`, { method: "POST", body });
    alarms.set(updated.id, updated);
    return true;
  } catch (err) {
    if (err.status === undefined) { pending.push({ id, verb, body }); save(); return false; }
    if (err.status !== 409) alert(err.message);
    return false;
  } finally { render(); }
}

async function flush() {
  while (pending.length) {
    const next = pending[0];
    try {
      await api(`/api/v1/alarms/${next.id}/${next.verb}`, { method: "POST", body: next.body });
    } catch (err) {
      if (err.status === undefined) return;
    }
    pending.shift();
    save();
  }
}

function contacts(ctx) {
  return (ctx.contacts ?? []).map((c) =>
    el("a", { class: "tel", href: `tel:${c.phone}` }, `${t("ui.call")} ${c.name}${c.relation ? " (" + c.relation + ")" : ""}`));
}

function card(a) {
  const ctx = a.context ?? {};
  const mine = a.acknowledged_by === me.worker;
  const actions = [];
  if (["raised", "notified"].includes(a.state)) {
    actions.push(el("button", { class: "big ack", onclick: () => send(a.id, "ack", {}) }, t("ui.ack")));
    actions.push(el("button", { class: "decline", onclick: () => send(a.id, "decline", {}) }, t("ui.decline")));
  } else if (a.state === "acknowledged") {
    actions.push(el("button", { class: "big arrived", onclick: () => send(a.id, "arrived", {}) }, t("ui.arrived")));
  }
  if (["acknowledged", "on_scene"].includes(a.state)) {
    const select = el("select", { class: "outcome" }, ...OUTCOMES.map((o) => el("option", { value: o }, t(`outcome.${o}`))));
    const note = el("input", { class: "note", placeholder: t("ui.note"), maxlength: "500" });
    actions.push(el("div", { class: "resolve" }, select, note,
      el("button", { class: "big resolve-btn", onclick: () => send(a.id, "resolve", { outcome: select.value, note: note.value }) }, t("ui.resolve"))));
  }
  return el("article", { class: `card cls-${a.cls} st-${a.state}${mine ? " mine" : ""}`, "data-id": a.id },
    el("header", {}, el("span", { class: `badge cls-${a.cls}` }, t(`cls.${a.cls}`)), " ", el("span", { class: "state" }, t(`state.${a.state}`)),
      el("span", { class: "elapsed" }, elapsed(a.raised_at))),
    el("h2", {}, ctx.name ? `${ctx.name}${ctx.age ? " " + t("ui.years", { n: ctx.age }) : ""}` : (a.location || a.site)),
    el("dl", {},
      el("dt", {}, t("ui.address")), el("dd", {}, ctx.address ?? a.location),
      ctx.floor ? [el("dt", {}, t("ui.floor")), el("dd", {}, String(ctx.floor))] : null,
      ctx.key_safe ? [el("dt", {}, t("ui.key_safe")), el("dd", {}, ctx.key_safe)] : null,
      ctx.conditions?.length ? [el("dt", {}, t("ui.conditions")), el("dd", {}, ctx.conditions.join(" · "))] : null),
    el("div", { class: "contacts" }, ...contacts(ctx)),
    el("div", { class: "actions" }, ...actions));
}

function render() {
  const list = [...alarms.values()].filter((a) => a.active)
    .sort((a, b) => (a.cls === "fire" ? -1 : 0) - (b.cls === "fire" ? -1 : 0) || a.raised_at.localeCompare(b.raised_at));
  document.getElementById("cards").replaceChildren(...list.map(card));
  document.getElementById("empty").hidden = list.length > 0;
  const ringing = list.some((a) => ["raised", "notified"].includes(a.state) && ["fire", "call", "fall"].includes(a.cls));
  if (ringing) sound.start(); else sound.stop();
}

function announce(a) {
  if (!["raised", "notified"].includes(a.state)) return;
  navigator.vibrate?.([400, 200, 400]);
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(t(`cls.${a.cls}`), { body: a.context?.address ?? a.location, tag: a.id });
  }
}

async function reload() {
  await flush();
  const list = await api("/api/v1/alarms?active=true&order=priority&limit=200");
  for (const a of [...alarms.values()]) if (a.active) alarms.delete(a.id);
  for (const a of list) alarms.set(a.id, a);
  render();
  loadCare();
}

async function visit(resident, outcome) {
  await api("/api/v1/care/visits", { method: "POST", body: { resident, outcome } });
  loadCare();
}

async function loadCare() {
  const due = await api("/api/v1/care/due").catch(() => []);
  document.getElementById("care").replaceChildren(...due.map((d) =>
    el("div", { class: d.overdue ? "visit overdue" : "visit" },
      el("strong", {}, d.name), " ", d.address, d.overdue ? el("span", { class: "late" }, ` ${t("ui.care_overdue")}`) : null,
      el("button", { class: "visit-btn", onclick: () => visit(d.resident, "ok") }, t("ui.visit_done")))));
}

document.body.addEventListener("click", () => {
  sound.ensure();
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission();
}, { once: true });

follow({
  onAlarm: (a) => { const isNew = !alarms.has(a.id); alarms.set(a.id, a); if (isNew) announce(a); render(); },
  onStatus: (up) => {
    online = up;
    const net = document.getElementById("net");
    net.className = `net ${up ? "online" : "offline"}`;
    net.textContent = up ? t("ui.online") : t("ui.offline");
  },
  onCatchUp: reload,
});
setInterval(render, 5000);
document.body.dataset.ready = "1";
