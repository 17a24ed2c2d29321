// Shared by every page: the API with the session cookie, the translation table, the live feed.
export const state = { lang: "zh-CN", texts: {}, me: null };

export function t(key, params = {}) {
  let s = state.texts[key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export async function loadTexts(lang) {
  state.lang = lang === "en" ? "en" : "zh-CN";
  document.documentElement.lang = state.lang;
  const resp = await fetch(`/i18n/${state.lang}.json`);
  state.texts = await resp.json();
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { "X-Watchpost": "1", "Accept-Language": state.lang };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (resp.status === 401) {
    location.href = "/login";
    throw new ApiError(401, null);
  }
  const data = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

export async function whoami() {
  state.me = await api("/api/v1/me");
  await loadTexts(state.me.lang);
  return state.me;
}

export async function toggleLang() {
  const lang = state.lang === "en" ? "zh-CN" : "en";
  await api("/api/v1/me/lang", { method: "PUT", body: { lang } });
  location.reload();
}

export async function logout() {
  try { await api("/api/v1/auth/logout", { method: "POST" }); } finally { location.href = "/login"; }
}

// The live feed: `onAlarm(view)` for each change; `onStatus(online)`; `onCatchUp()` after every
// (re)connection, so the page reloads its list and misses nothing while it was offline.
export function follow({ onAlarm, onStatus, onCatchUp }) {
  let source = null;
  let retry = 1000;
  const open = () => {
    source = new EventSource("/api/v1/feed");
    source.addEventListener("hello", () => { retry = 1000; onStatus(true); onCatchUp(); });
    source.addEventListener("alarm", (ev) => onAlarm(JSON.parse(ev.data)));
    source.onerror = () => {
      onStatus(false);
      source.close();
      if (!navigator.onLine) return;  // the "online" event reopens it
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 15000);
    };
  };
  // The browser knows first when the phone loses its network: drop the stream at once (it
  // would only stall), show it, and reconnect (then catch up) when the network is back.
  window.addEventListener("offline", () => { source?.close(); onStatus(false); });
  window.addEventListener("online", () => { source?.close(); open(); });
  open();
}

// A repeating alarm tone (Web Audio). `window.watchpostSound` lets tests see that it plays.
export const sound = {
  ctx: null, timer: null, beeps: 0, playing: false,
  ensure() {
    if (!this.ctx) this.ctx = new (window.AudioContext || window.webkitAudioContext)();
    if (this.ctx.state === "suspended") this.ctx.resume();
    return this.ctx;
  },
  beep(freq = 880) {
    const ctx = this.ensure();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.35);
    this.beeps += 1;
    window.watchpostSound = { playing: this.playing, beeps: this.beeps, state: ctx.state };
  },
  start(freq) {
    if (this.playing) return;
    this.playing = true;
    this.beep(freq);
    this.timer = setInterval(() => this.beep(freq), 1000);
  },
  stop() {
    this.playing = false;
    clearInterval(this.timer);
    this.timer = null;
    window.watchpostSound = { playing: false, beeps: this.beeps, state: this.ctx?.state };
  },
};
window.watchpostSound = { playing: false, beeps: 0, state: "none" };

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function elapsed(since, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - new Date(since).getTime()) / 1000));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
}
