// The overview: every bot of every supervisor at a glance, live.
import { api, canControl } from "/static/api.js";
import { ago, h, num, replace, time } from "/static/dom.js";
import { ask, badge, card, decSum, kpi, money, table, toast } from "/static/ui.js";

export class Overview {
  constructor(app) {
    this.app = app;
    this.el = h("div", { class: "view overview" });
    this.kpis = h("div", { class: "kpis" });
    this.botsBox = h("div", {});
    this.eventsBox = h("div", {});
    this.el.append(
      h("div", { class: "page-head" },
        h("div", {}, h("h1", {}, "Bots"), h("p", { class: "muted" }, "Every bot of every supervisor sharing this database, live.")),
        h("div", { class: "page-actions" }, h("button", { class: "primary", onclick: () => this.addBot(), name: "add-bot" }, "Add bot"))),
      this.kpis,
      card(null, this.botsBox),
      card("Recent events", this.eventsBox));
  }

  async load() {
    const [bots, events] = await Promise.all([api("/api/bots"), api("/api/events?limit=30")]);
    for (const b of bots) this.app.bots.set(b.name, b);
    this.app.events = events;
    this.render();
  }

  render() {
    const bots = [...this.app.bots.values()].sort((a, b) => a.name.localeCompare(b.name));
    const running = bots.filter((b) => b.state === "running").length;
    const quotes = new Map();
    for (const b of bots) {
      const s = b.status || {};
      if (s.pnl === undefined || s.pnl === null) continue;
      if (!quotes.has(s.quote)) quotes.set(s.quote, []);
      quotes.get(s.quote).push(s.pnl);
    }
    const pnlCards = [...quotes.entries()].map(([quote, values]) => {
      const total = decSum(values);
      return kpi(`PnL (${quote})`, money(total, { signed: true, sign: true, places: 4 }));
    });
    const fills = bots.reduce((n, b) => n + ((b.status || {}).fills || 0), 0);
    const limited = bots.reduce((n, b) => n + ((b.status || {}).rate_limited || 0), 0);
    replace(this.kpis,
      kpi("Running", `${running} / ${bots.length}`, { testid: "running-count" }),
      pnlCards.length ? pnlCards : kpi("PnL", "–"),
      kpi("Fills", num(fills), { testid: "fills-total" }),
      kpi("50011 answers", num(limited), { cls: limited ? "warn" : "" }),
      kpi("Supervisors", String(new Set(bots.map((b) => b.owner).filter(Boolean)).size || 0)));
    const control = canControl();
    replace(this.botsBox, table([
      { label: "Bot", value: (b) => h("a", { href: `#/bot/${encodeURIComponent(b.name)}`, class: "bot-link" }, b.name) },
      { label: "Pair", value: (b) => (b.status || {}).symbol || "–" },
      { label: "Strategy", value: (b) => (b.status || {}).strategy || "–" },
      { label: "State", value: (b) => badge(b.state) },
      { label: "Supervisor", value: (b) => h("span", { class: "muted small" }, b.owner || "–") },
      { label: "PnL", cls: "num", value: (b) => money((b.status || {}).pnl, { signed: true, places: 4 }) },
      { label: "Position", cls: "num", value: (b) => money((b.status || {}).position, { places: 8 }) },
      { label: "Open", cls: "num", value: (b) => num((b.status || {}).open_orders) },
      { label: "Fills", cls: "num", value: (b) => h("span", { dataset: { testid: "bot-fills" } }, num((b.status || {}).fills)) },
      { label: "50011", cls: "num", value: (b) => num((b.status || {}).rate_limited) },
      { label: "Tick→order p50 / p99", cls: "num", value: (b) => latency((b.status || {}).latency) },
      { label: "Order headroom", value: (b) => headroomBar((b.status || {}).headroom) },
      { label: "Last error", value: (b) => h("span", { class: "error-text", title: b.last_error || "" }, b.last_error || "") },
      { label: "", value: (b) => this.actions(b, control) },
    ], bots, {
      empty: "No bots yet: add one (a TOML config, as in examples/), or `okxbot serve add CONFIG`.",
      rowAttrs: (b) => ({ dataset: { bot: b.name, state: b.state } }),
      testid: "bots",
    }));
    this.renderEvents();
  }

  renderEvents() {
    replace(this.eventsBox, table([
      { label: "Time", value: (e) => time(e.ts_ms) },
      { label: "Bot", value: (e) => e.bot || "–" },
      { label: "Event", value: (e) => e.kind.replaceAll("_", " ") },
      { label: "Detail", value: (e) => describe(e) },
    ], (this.app.events || []).slice(0, 30), { empty: "No events yet." }));
  }

  actions(b, control) {
    const running = ["running", "starting", "backoff"].includes(b.state);
    const label = running ? "Stop" : "Start";
    return h("button", {
      class: running ? "small ghost" : "small",
      disabled: !control,
      title: control ? "" : "Unlock control first (read-only by default)",
      name: `${label.toLowerCase()}-${b.name}`,
      onclick: (e) => { e.preventDefault(); this.app.control(b.name, running ? "stop" : "start"); },
    }, label);
  }

  onEvent(kind, data) {
    if (kind !== "status") {
      this.app.events = [data, ...(this.app.events || [])].slice(0, 50);
    }
    this.app.schedule(() => this.render());
  }

  async addBot() {
    if (!canControl()) {
      if (!(await this.app.unlock())) return;
    }
    const dialog = h("dialog", { class: "dialog wide" });
    const config = h("textarea", { rows: 16, spellcheck: "false", name: "config", placeholder: EXAMPLE, "aria-label": "bot config (TOML)" });
    const profile = h("input", { type: "text", name: "profile", placeholder: "vault profile (blank: the simulator's own account)" });
    const sim = h("input", { type: "text", name: "sim_url", placeholder: "simulator URL, e.g. http://127.0.0.1:8080 (blank: OKX)" });
    const start = h("input", { type: "checkbox", name: "start", checked: true });
    const error = h("p", { class: "error-text", role: "alert" });
    const form = h("form", { method: "dialog" },
      h("h3", {}, "Add a bot"),
      h("label", {}, "Config (TOML)", config),
      h("div", { class: "two" }, h("label", {}, "Profile", profile), h("label", {}, "Simulator URL", sim)),
      h("label", { class: "check" }, start, " start it now"),
      error,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, "Add")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        const bot = await api("/api/bots", { method: "POST", body: {
          config: config.value, profile: profile.value.trim() || null, sim_url: sim.value.trim() || null, start: start.checked,
        } });
        this.app.bots.set(bot.name, bot);
        dialog.close();
        toast(`Bot ${bot.name} added`, "ok");
        this.render();
      } catch (err) {
        error.textContent = err.message;
      }
    });
    dialog.append(form);
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    config.focus();
  }

  close() {}
}

const EXAMPLE = `name = "grid-btc"
symbol = "BTC/USDT"
strategy = "grid"

[grid]
lower = "60000"
upper = "62000"
levels = 10
size = "0.001"`;

export function latency(l) {
  if (!l || !l.n) return h("span", { class: "muted" }, "–");
  return h("span", { class: "num" }, `${l.p50_ms} / ${l.p99_ms} ms`);
}

export function headroomBar(rows) {
  if (!rows || !rows.length) return h("span", { class: "muted" }, "–");
  const place = rows.find((r) => r.rule === "place") || rows[0];
  const free = place.capacity ? place.free / place.capacity : 1;
  return h("div", { class: "meter", title: `${place.endpoint}: ${place.used}/${place.capacity} used in ${place.window_ms / 1000}s` },
    h("div", { class: `meter-fill ${free < 0.2 ? "bad" : free < 0.5 ? "warn" : "ok"}`, style: { width: `${Math.round(free * 100)}%` } }),
    h("span", { class: "meter-text" }, `${place.free}/${place.capacity} free`));
}

export function describe(e) {
  const d = e.data || {};
  switch (e.kind) {
    case "fill": return `${d.side} ${d.size} @ ${d.price}`;
    case "order": return `${d.side} ${d.amount} @ ${d.price ?? "market"}: ${String(d.state).replaceAll("_", " ")}`;
    case "bot": return `${d.previous} → ${d.state}${d.error ? `: ${d.error}` : ""}`;
    case "crash": return `${d.error} (restart in ${d.restart_in_s}s, #${d.restarts})`;
    case "halted": return `halted by ${d.rule}`;
    case "foreign_order": return `order ${d.order_id} on ${d.symbol} was not placed by okxbot`;
    case "rate_limited": return `${d.count} × 50011 in ${d.window_s}s`;
    case "posture": return `${d.profile}: ${(d.checks || []).map((c) => c.check).join(", ")} failing`;
    case "panic": return `panic on ${d.profile}: ${(d.done || []).length} done, ${(d.not_done || []).length} not done`;
    default: return "";
  }
}

export { ago };
