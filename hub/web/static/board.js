// The duty officer's alarm board: open alarms by priority, live, with sound until acknowledged.
import { api, elapsed, el, follow, logout, sound, state, t, toggleLang, whoami } from "/static/common.js";

const LOUD = new Set(["fire", "call", "fall"]);
const UNANSWERED = new Set(["raised", "notified"]);
const OPEN = (a) => a.active;
const PRIORITY = { fire: 0, call: 1, fall: 1, inactivity: 2, pre_alarm: 3, trouble: 4 };
const alarms = new Map();
const view = { cls: null, grid: null, selected: 0 };

const me = await whoami();
if (!["admin", "duty_officer", "supervisor", "viewer"].includes(me.role)) location.href = "/worker";
document.getElementById("who").textContent = me.display_name;
document.getElementById("lang").addEventListener("click", toggleLang);
document.getElementById("logout").addEventListener("click", logout);
document.getElementById("sound").addEventListener("click", () => { sound.ensure(); render(); });

function target(a) {
  // Acknowledge within 60 s; the fire station on scene within 3 min of the alarm.
  if (UNANSWERED.has(a.state)) return 60;
  if (a.cls === "fire" && a.state === "acknowledged") return 180;
  return null;
}

function sorted() {
  return [...alarms.values()]
    .filter(OPEN)
    .filter((a) => !view.cls || a.cls === view.cls)
    .filter((a) => !view.grid || a.grid === view.grid)
    .sort((a, b) => (PRIORITY[a.cls] ?? 9) - (PRIORITY[b.cls] ?? 9) || a.raised_at.localeCompare(b.raised_at));
}

function who(a) {
  const ctx = a.context;
  if (!ctx) return [a.location || a.reason || a.site];
  const parts = [ctx.name ? `${ctx.name}${ctx.age ? " " + t("ui.years", { n: ctx.age }) : ""}` : a.location];
  return [el("strong", {}, parts.join(" ")), el("br"), ctx.address,
    ctx.floor ? ` · ${ctx.floor}F` : "", ctx.conditions?.length ? el("div", { class: "cond" }, ctx.conditions.join(" · ")) : null];
}

async function act(a, verb, body = {}) {
  try {
    const updated = await api(`/api/v1/alarms/${a.id}/${verb}`, { method: "POST", body });
    alarms.set(updated.id, updated);
  } catch (err) {
    alert(err.message);
  }
  render();
}

function row(a, i) {
  const secs = (Date.now() - new Date(a.raised_at).getTime()) / 1000;
  const goal = target(a);
  const late = goal !== null && secs > goal;
  const canAct = me.role !== "viewer";
  return el("tr", { class: `alarm cls-${a.cls} st-${a.state}${i === view.selected ? " selected" : ""}`, "data-id": a.id },
    el("td", {}, el("span", { class: `badge cls-${a.cls}` }, t(`cls.${a.cls}`)), el("br"), el("small", {}, t(`state.${a.state}`))),
    el("td", {}, ...who(a)),
    el("td", { class: late ? "late" : "" }, elapsed(a.raised_at), goal ? el("small", {}, ` / ${goal}s`) : null),
    el("td", {}, a.paged.map((p) => p.name).join("、")),
    el("td", {}, a.acknowledged_by ?? "—"),
    el("td", {}, canAct && UNANSWERED.has(a.state) ? el("button", { class: "ack", onclick: () => act(a, "ack") }, t("ui.ack")) : null),
  );
}

function render() {
  const list = sorted();
  view.selected = Math.min(view.selected, Math.max(0, list.length - 1));
  const body = document.querySelector("#alarms tbody");
  body.replaceChildren(...list.map(row));
  document.getElementById("empty").hidden = list.length > 0;
  document.getElementById("count").textContent = String(list.length);
  const ringing = [...alarms.values()].some((a) => a.active && LOUD.has(a.cls) && UNANSWERED.has(a.state));
  if (ringing) sound.start([...alarms.values()].some((a) => a.active && a.cls === "fire" && UNANSWERED.has(a.state)) ? 1200 : 880);
  else sound.stop();
  const button = document.getElementById("sound");
  button.textContent = sound.ctx && sound.ctx.state === "running" ? t("ui.sound_on") : t("ui.sound_click");
  document.title = ringing ? `(!) ${t("page.board")}` : t("page.board");
}

async function reload() {
  const list = await api("/api/v1/alarms?active=true&order=priority&limit=500");
  for (const a of [...alarms.values()]) if (a.active) alarms.delete(a.id);
  for (const a of list) alarms.set(a.id, a);
  render();
  loadSide();
}

async function loadSide() {
  const [devices, duty, coverage] = await Promise.all([
    api("/api/v1/devices").catch(() => []),
    api("/api/v1/rosters/now").catch(() => []),
    api("/api/v1/care/coverage").catch(() => []),
  ]);
  const byGrid = new Map();
  for (const d of devices) {
    const g = byGrid.get(d.grid) ?? { on: 0, off: 0, offline: [] };
    if (d.online) g.on += 1; else { g.off += 1; g.offline.push(d.device); }
    byGrid.set(d.grid, g);
  }
  document.getElementById("devices").replaceChildren(...[...byGrid.entries()].sort().map(([grid, g]) =>
    el("div", { class: g.off ? "dev warn" : "dev" }, el("strong", {}, grid), " ", t("ui.online_n", { n: g.on }), " · ",
      t("ui.offline_n", { n: g.off }), g.offline.length ? el("small", {}, " ", g.offline.join(", ")) : null)));
  document.getElementById("duty").replaceChildren(...duty.map(dutyRow));
  document.getElementById("coverage").replaceChildren(...coverage.map((c) =>
    el("div", { class: c.coverage < 1 ? "dev warn" : "dev" }, el("strong", {}, c.grid), ` ${c.visited}/${c.due} (${Math.round(c.coverage * 100)}%)`)));
}

const ROSTER_WRITERS = ["admin", "duty_officer", "supervisor"];

async function roster(path, body) {
  try { await api(`/api/v1/rosters/${path}`, { method: "POST", body }); } catch (err) { alert(err.message); }
  loadSide();
}

function dutyRow(d) {
  const names = d.workers.length
    ? d.workers.map((w) => el("span", { class: "onduty", "data-worker": w.id }, w.name,
        ROSTER_WRITERS.includes(me.role) ? el("button", { class: "mini absent", title: t("ui.absent"),
          onclick: () => roster("exceptions", { worker: w.id, kind: "absent" }) }, "×") : null))
    : [t("ui.nobody_on_duty")];
  const row = el("div", { class: d.workers.length ? "dev" : "dev warn", "data-grid": d.grid ?? d.role },
    el("strong", {}, d.grid ?? t(`role.${d.role}`)), " ", ...names);
  if (d.grid && ROSTER_WRITERS.includes(me.role) && d.off_duty.length) {
    const pick = el("select", { class: "swap-pick" }, ...d.off_duty.map((w) => el("option", { value: w.id }, w.name)));
    row.append(" ", pick, el("button", { class: "mini swap", onclick: () => {
      const absent = d.workers[0]?.id;
      if (absent) roster("swap", { absent, replacement: pick.value, grid: d.grid });
      else roster("exceptions", { worker: pick.value, kind: "extra", grid: d.grid });
    } }, t("ui.swap")));
  }
  return row;
}

function filters() {
  const nav = document.getElementById("filters");
  const button = (label, on, apply) => el("button", { class: on ? "on" : "", onclick: () => { apply(); filters(); render(); } }, label);
  nav.replaceChildren(
    button(t("ui.filter_all"), !view.cls && !view.grid, () => { view.cls = null; view.grid = null; }),
    button(t("cls.fire"), view.cls === "fire", () => { view.cls = view.cls === "fire" ? null : "fire"; }),
    ...["grid-1", "grid-2", "grid-3"].map((g) => button(g, view.grid === g, () => { view.grid = view.grid === g ? null : g; })),
  );
}

function broadcastPanel() {
  if (!["admin", "duty_officer", "supervisor"].includes(me.role)) return;
  const box = document.getElementById("broadcast");
  const select = el("select", { id: "bc-target" },
    el("option", { value: "" }, t("ui.broadcast_site")),
    ...["b1", "b2", "b3"].map((b) => el("option", { value: b }, b)));
  const status = el("p", { id: "bc-status" });
  let current = null;
  const start = async () => {
    const building = select.value || null;
    const plan = await api("/api/v1/broadcasts", { method: "POST", body: { building } });
    if (!confirm(`${t("ui.broadcast_confirm")} (${plan.devices.join(", ")})`)) return;
    current = await api(`/api/v1/broadcasts/${plan.id}/confirm`, { method: "POST", body: { code: plan.code } });
    status.textContent = `${t("ui.broadcast")}: ${current.devices.join(", ")}`;
  };
  const stop = async () => {
    if (!current) return;
    await api(`/api/v1/broadcasts/${current.id}/stop`, { method: "POST", body: {} });
    status.textContent = "";
    current = null;
  };
  box.replaceChildren(select, el("button", { id: "bc-start", class: "danger", onclick: start }, t("ui.broadcast")),
    el("button", { id: "bc-stop", onclick: stop }, t("ui.stop")), status);
}

document.addEventListener("keydown", (ev) => {
  if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement) return;
  const list = sorted();
  const k = ev.key.toLowerCase();
  if (k === "j") view.selected = Math.min(view.selected + 1, list.length - 1);
  else if (k === "k") view.selected = Math.max(view.selected - 1, 0);
  else if (k === "a" && list[view.selected] && UNANSWERED.has(list[view.selected].state)) act(list[view.selected], "ack");
  else if (k === "f") view.cls = view.cls === "fire" ? null : "fire";
  else if (k === "0") { view.cls = null; view.grid = null; }
  else if (["1", "2", "3"].includes(k)) view.grid = `grid-${k}`;
  else return;
  filters();
  render();
});

filters();
broadcastPanel();
follow({
  onAlarm: (a) => { alarms.set(a.id, a); render(); },
  onStatus: (online) => {
    const net = document.getElementById("net");
    net.className = `net ${online ? "online" : "offline"}`;
    net.textContent = online ? t("ui.online") : t("ui.offline");
  },
  onCatchUp: reload,
});
setInterval(render, 1000);
setInterval(loadSide, 30000);
document.body.dataset.ready = "1";
