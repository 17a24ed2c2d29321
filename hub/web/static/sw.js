// Service worker of the phone page: the app shell works offline; the API always goes to the hub.
const SHELL = "watchpost-shell-v1";
const FILES = ["/worker", "/static/style.css", "/static/common.js", "/static/worker.js", "/static/icon.svg"];

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(SHELL).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || url.pathname.startsWith("/api/")) return;
  ev.respondWith(fetch(ev.request).then((resp) => {
    const copy = resp.clone();
    caches.open(SHELL).then((c) => c.put(ev.request, copy));
    return resp;
  }).catch(() => caches.match(ev.request)));
});
