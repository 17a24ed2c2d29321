import { loadTexts, t } from "/static/common.js";

const params = new URLSearchParams(location.search);
const lang = params.get("lang") === "en" ? "en" : "zh-CN";
await loadTexts(lang);
const link = document.getElementById("lang");
link.href = lang === "en" ? "?lang=zh-CN" : "?lang=en";

document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const resp = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Accept-Language": lang },
    body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
  });
  const body = await resp.json();
  if (!resp.ok) {
    document.getElementById("error").textContent = body.detail ?? t("err.login_failed");
    return;
  }
  const overseer = ["admin", "duty_officer", "supervisor", "viewer"].includes(body.user.role);
  location.href = overseer ? "/board" : "/worker";
});
