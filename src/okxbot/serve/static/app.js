// okxbot dashboard: shell, login, routing, live updates, control actions.
import { api, ApiError, canControl, Live, loadSession, session } from "/static/api.js";
import { BotPage } from "/static/bot.js";
import { h, replace } from "/static/dom.js";
import { Overview } from "/static/overview.js";
import { fillsPage, LimitsPage, ordersPage, PosturePage } from "/static/pages.js";
import { ask, toast } from "/static/ui.js";

const THEME_KEY = "okxbot-theme";

class App {
  constructor(root) {
    this.root = root;
    this.bots = new Map();
    this.events = [];
    this.view = null;
    this.pending = new Map();
    this.live = new Live((kind, data) => this.onEvent(kind, data), (state) => this.setLive(state));
    this.applyTheme(localStorage.getItem(THEME_KEY) || (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark"));
    window.addEventListener("hashchange", () => this.route());
  }

  async start() {
    try {
      await loadSession();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.showLogin();
      return replace(this.root, h("p", { class: "boot error-text" }, `Cannot reach okxbot: ${err.message}`));
    }
    this.showShell();
  }

  // ---- login ------------------------------------------------------------------------------------
  showLogin(message = "") {
    this.live.stop();
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true, autofocus: true, "aria-label": "password" });
    const error = h("p", { class: "error-text", role: "alert", id: "login-error" }, message);
    const button = h("button", { class: "primary", type: "submit", name: "login" }, "Log in");
    const form = h("form", { class: "login-card", onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      error.textContent = "";
      try {
        await api("/api/login", { method: "POST", body: { password: password.value } });
        await loadSession();
        this.showShell();
      } catch (err) {
        error.textContent = err.status === 401 ? "Wrong password." : err.message;
        password.select();
      } finally {
        button.disabled = false;
      }
    } },
      h("div", { class: "brand big" }, logo(), "okxbot"),
      h("p", { class: "muted" }, "Watch and control your bots."),
      h("label", {}, "Dashboard password", password),
      error,
      button,
      h("p", { class: "muted small" }, "Set it with ", h("code", {}, "okxbot serve passwd"), ". Read-only after login: control actions ask for it again."));
    replace(this.root, h("main", { class: "login" }, form, this.themeButton()));
    password.focus();
  }

  // ---- shell ------------------------------------------------------------------------------------
  showShell() {
    this.liveDot = h("span", { class: "live-dot", title: "connecting" });
    this.liveText = h("span", { class: "muted small", dataset: { testid: "live-state" } }, "connecting");
    this.lockButton = h("button", { class: "small ghost", name: "control-lock", onclick: () => this.toggleControl() });
    this.nav = h("nav", {},
      [["#/", "Overview"], ["#/orders", "Orders"], ["#/fills", "Fills"], ["#/posture", "Posture"], ["#/limits", "Rate limits"]]
        .map(([href, label]) => h("a", { href, dataset: { route: href } }, label)),
      h("a", { href: "/docs", target: "_blank", rel: "noopener" }, "API"));
    this.main = h("main", { class: "content" });
    replace(this.root,
      h("header", { class: "top" },
        h("a", { class: "brand", href: "#/" }, logo(), "okxbot"),
        this.nav,
        h("div", { class: "top-right" },
          h("span", { class: "live" }, this.liveDot, this.liveText),
          h("span", { class: "muted small", title: "this supervisor" }, session.supervisor),
          this.lockButton,
          this.themeButton(),
          h("button", { class: "small ghost", name: "logout", onclick: () => this.logout() }, "Log out"))),
      this.main,
      h("div", { id: "toasts", class: "toasts" }));
    this.renderLock();
    this.live.start();
    this.route();
    clearInterval(this.lockTimer);
    this.lockTimer = setInterval(() => this.renderLock(), 15000);
  }

  route() {
    if (!this.main) return;
    if (this.view) this.view.close();
    const hash = location.hash || "#/";
    const bot = hash.match(/^#\/bot\/(.+)$/);
    if (bot) this.view = new BotPage(this, decodeURIComponent(bot[1]));
    else if (hash === "#/orders") this.view = ordersPage(this);
    else if (hash === "#/fills") this.view = fillsPage(this);
    else if (hash === "#/posture") this.view = new PosturePage(this);
    else if (hash === "#/limits") this.view = new LimitsPage(this);
    else this.view = new Overview(this);
    for (const a of this.nav.querySelectorAll("a[data-route]")) {
      a.classList.toggle("active", a.dataset.route === hash || (a.dataset.route === "#/" && bot !== null));
    }
    replace(this.main, this.view.el);
    this.view.load().catch((err) => this.failed(err));
  }

  failed(err) {
    if (err instanceof ApiError && err.status === 401) return this.showLogin("Your session ended: log in again.");
    toast(err.message, "bad");
  }

  // coalesce re-renders: at most one per frame (or after `delay` ms) per function
  schedule(fn, delay = 0) {
    if (this.pending.has(fn.toString() + delay)) return;
    const key = fn.toString() + delay;
    const run = () => { this.pending.delete(key); fn(); };
    this.pending.set(key, delay ? setTimeout(run, delay) : requestAnimationFrame(run));
  }

  // ---- live -------------------------------------------------------------------------------------
  onEvent(kind, data) {
    if (kind === "hello") return;
    if (kind === "status" && data.data && data.data.name) {
      this.bots.set(data.bot, { ...(this.bots.get(data.bot) || {}), ...data.data });
    } else if (kind === "bot") {
      const b = this.bots.get(data.bot);
      if (b) b.state = data.data.state;
      if (b && data.data.error) b.last_error = data.data.error;
    } else if (["crash", "halted", "panic", "posture", "foreign_order"].includes(kind)) {
      toast(`${data.bot ? data.bot + ": " : ""}${kind.replaceAll("_", " ")}`, kind === "panic" ? "warn" : "bad");
    }
    if (this.view) this.view.onEvent(kind, data);
  }

  setLive(state) {
    if (!this.liveDot) return;
    this.liveDot.className = `live-dot ${state}`;
    this.liveText.textContent = state === "live" ? "live" : state;
    if (state === "closed") {
      loadSession().then(() => this.live.start()).catch((err) => this.failed(err));
    }
  }

  // ---- control ----------------------------------------------------------------------------------
  renderLock() {
    if (!this.lockButton) return;
    const on = canControl();
    const minutes = Math.max(0, Math.round((session.controlUntil - Date.now()) / 60000));
    replace(this.lockButton, on ? `Control unlocked (${minutes} min) · lock` : "Read-only · unlock control");
    this.lockButton.classList.toggle("warn", on);
    document.body.classList.toggle("control", on);
  }

  async unlock() {
    const password = await ask({
      title: "Unlock control",
      body: "Start, stop, cancel and panic need your password again; control stays unlocked for 15 minutes.",
      confirm: "Unlock", password: true,
    });
    if (password === null) return false;
    try {
      const r = await api("/api/session/control", { method: "POST", body: { password } });
      session.controlUntil = r.control_until_ms;
      this.renderLock();
      if (this.view && this.view.render) this.view.render();
      return true;
    } catch (err) {
      toast(err.status === 401 ? "Wrong password." : err.message, "bad");
      return false;
    }
  }

  async toggleControl() {
    if (!canControl()) return this.unlock();
    await api("/api/session/control", { method: "DELETE" }).catch((err) => this.failed(err));
    session.controlUntil = 0;
    this.renderLock();
    if (this.view && this.view.render) this.view.render();
  }

  async control(bot, action, orderId = null) {
    if (!canControl() && !(await this.unlock())) return;
    const what = {
      start: [`Start ${bot}?`, "It reconciles with the exchange first, then trades.", "Start", false],
      stop: [`Stop ${bot}?`, "It stops trading and cancels its open orders (as its config says).", "Stop bot", true],
      "cancel-all": [`Cancel every open order of ${bot}?`, "The bot keeps running and may place new orders.", "Cancel all", true],
      cancel: [`Cancel order ${orderId}?`, `Of bot ${bot}.`, "Cancel order", true],
    }[action];
    const yes = await ask({ title: what[0], body: what[1], confirm: what[2], danger: what[3] });
    if (!yes) return;
    const base = `/api/bots/${encodeURIComponent(bot)}`;
    const path = action === "cancel" ? `${base}/orders/${encodeURIComponent(orderId)}/cancel` : `${base}/${action}`;
    try {
      await api(path, { method: "POST", body: { confirm: true } });
      toast(`${what[2]}: done`, "ok");
      if (action === "stop" || action === "start") {
        const fresh = await api(base);
        this.bots.set(bot, fresh);
        if (this.view && this.view.render) this.view.render();
      }
    } catch (err) {
      if (err.status === 401) return this.showLogin("Your session ended: log in again.");
      toast(err.message, "bad");
    }
  }

  async logout() {
    await api("/api/logout", { method: "POST" }).catch(() => null);
    session.csrf = null;
    this.showLogin();
  }

  // ---- theme ------------------------------------------------------------------------------------
  applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
  }

  themeButton() {
    return h("button", { class: "small ghost", name: "theme", title: "Dark / light", onclick: () => {
      this.applyTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark");
      if (this.view && this.view.charts) this.view.charts.draw();
    } }, "◐");
  }
}

function logo() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 32 32");
  svg.setAttribute("class", "logo");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M6 22l6-7 5 4 9-11");
  svg.append(path);
  return svg;
}

new App(document.getElementById("app")).start();
