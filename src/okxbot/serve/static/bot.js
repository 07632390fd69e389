// One bot: its numbers, chart (price, its orders and fills, equity), orders, fills, limits, logs. Live.
import { api, canControl } from "/static/api.js";
import { BotCharts } from "/static/chart.js";
import { ago, datetime, h, num, replace, time } from "/static/dom.js";
import { describe, headroomBar, latency } from "/static/overview.js";
import { badge, card, fillBody, kpi, money, table } from "/static/ui.js";

const OPEN = new Set(["intent", "sent", "unknown", "live", "partially_filled"]);

export class BotPage {
  constructor(app, name) {
    this.app = app;
    this.name = name;
    this.orders = new Map();
    this.fills = [];
    this.el = h("div", { class: "view bot" });
    this.head = h("div", { class: "page-head" });
    this.kpis = h("div", { class: "kpis" });
    this.priceEl = h("div", { class: "chart", dataset: { testid: "price-chart" } });
    this.equityEl = h("div", { class: "chart" });
    this.ordersBody = h("tbody", {});
    this.fillsBody = h("tbody", {});
    this.side = h("div", { class: "stack" });
    this.logsBox = h("pre", { class: "logs", dataset: { testid: "logs" } });
    this.el.append(
      this.head,
      this.kpis,
      card("Price, orders and fills",
        h("div", { class: "legend" },
          h("span", { class: "key accent" }, "mid"), h("span", { class: "key buy" }, "buy fill / order"),
          h("span", { class: "key sell" }, "sell fill / order")),
        this.priceEl, h("h3", { class: "sub" }, "Equity (PnL, quote)"), this.equityEl),
      h("div", { class: "grid-2" },
        card("Open orders", h("div", { class: "table-wrap" }, h("table", { dataset: { testid: "open-orders" } }, h("thead", {}, h("tr", {},
          ["Side", "Price", "Amount", "Filled", "State", "clOrdId", ""].map((l, i) => h("th", { class: i > 0 && i < 4 ? "num" : "" }, l)))), this.ordersBody))),
        this.side),
      card("Fills", h("div", { class: "table-wrap" }, h("table", { dataset: { testid: "fills" } }, h("thead", {}, h("tr", {},
        ["Time", "Side", "Price", "Size", "Fee", "Trade id", "clOrdId"].map((l, i) => h("th", { class: i >= 2 && i <= 4 ? "num" : "" }, l)))), this.fillsBody))),
      card("Log", this.logsBox));
  }

  get bot() {
    return this.app.bots.get(this.name);
  }

  async load() {
    const [bot, chart, fills, logs] = await Promise.all([
      api(`/api/bots/${encodeURIComponent(this.name)}`),
      api(`/api/bots/${encodeURIComponent(this.name)}/chart`),
      api(`/api/fills?bot=${encodeURIComponent(this.name)}&limit=100`),
      api(`/api/bots/${encodeURIComponent(this.name)}/logs?limit=100`),
    ]);
    this.app.bots.set(this.name, bot);
    for (const o of (bot.status || {}).orders || []) this.orders.set(o.client_order_id, o);
    this.fills = fills.items;
    this.logs = logs.lines;
    this.charts = new BotCharts(this.priceEl, this.equityEl, (bot.status || {}).quote || "");
    this.render();
    this.charts.set({ prices: chart.prices, equity: chart.equity, fills: chart.fills.slice().reverse(), orders: [...this.orders.values()] });
  }

  render() {
    const b = this.bot;
    if (!b) return;
    const s = b.status || {};
    const control = canControl();
    const running = ["running", "starting", "backoff"].includes(b.state);
    const disabled = !control;
    const why = control ? "" : "Unlock control first (read-only by default)";
    replace(this.head,
      h("div", {},
        h("div", { class: "crumbs" }, h("a", { href: "#/" }, "Bots"), " / "),
        h("h1", { dataset: { testid: "bot-name" } }, b.name, " ", badge(b.state)),
        h("p", { class: "muted" }, `${s.symbol || "–"} · ${s.strategy || "–"} · supervisor ${b.owner || "–"}`,
          b.started_ms && running ? ` · started ${ago(b.started_ms)}` : "", b.restarts ? ` · ${b.restarts} restart(s)` : "")),
      h("div", { class: "page-actions" },
        running
          ? h("button", { class: "danger", disabled, title: why, name: "stop", onclick: () => this.app.control(this.name, "stop") }, "Stop bot")
          : h("button", { class: "primary", disabled, title: why, name: "start", onclick: () => this.app.control(this.name, "start") }, "Start bot"),
        h("button", { class: "ghost", disabled: disabled || !running, title: why, name: "cancel-all", onclick: () => this.app.control(this.name, "cancel-all") }, "Cancel all orders")));
    const bal = s.balances || {};
    replace(this.kpis,
      kpi("Mid", num(s.mid), { testid: "mid" }),
      kpi(`PnL (${s.quote || "quote"})`, money(s.pnl, { signed: true, places: 4 }), { testid: "pnl" }),
      kpi("PnL today", money(s.pnl_today, { signed: true, places: 4 })),
      kpi(`Position (${s.base || "base"})`, money(s.position, { places: 8 })),
      kpi(`Fees paid (${s.quote || "quote"})`, money(s.fees, { places: 6 })),
      kpi(`${s.base || "base"} balance`, money((bal[s.base] || {}).total, { places: 8 })),
      kpi(`${s.quote || "quote"} balance`, money((bal[s.quote] || {}).total, { places: 2 })),
      kpi("Orders placed", num(s.placed), { testid: "placed" }),
      kpi("Fills", num(s.fills), { testid: "fills-count" }),
      kpi("Refused / rejected", `${num(s.refused)} / ${num(s.rejected)}`),
      kpi("50011 answers", num(s.rate_limited), { cls: s.rate_limited ? "warn" : "" }),
      kpi("Tick→order p50 / p99", latency(s.latency)));
    this.renderOrders();
    this.renderFills();
    this.renderSide(s, b);
    replace(this.logsBox, (this.logs || []).map((l) => `${l.ts} ${l.level.toUpperCase().padEnd(7)} ${l.msg}\n`).join("") || "No log lines on this supervisor.");
  }

  renderOrders() {
    const control = canControl();
    const rows = [...this.orders.values()].filter((o) => OPEN.has(o.state))
      .sort((a, b) => Number(b.price || 0) - Number(a.price || 0));
    fillBody(this.ordersBody, [
      { value: (o) => h("span", { class: `side ${o.side}` }, o.side) },
      { cls: "num", value: (o) => num(o.price) },
      { cls: "num", value: (o) => num(o.amount) },
      { cls: "num", value: (o) => num(o.filled) },
      { value: (o) => badge(o.state) },
      { value: (o) => h("code", { class: "small" }, o.client_order_id) },
      { value: (o) => h("button", {
          class: "small ghost", disabled: !control, name: `cancel-${o.client_order_id}`,
          title: control ? "Cancel this order" : "Unlock control first",
          onclick: () => this.app.control(this.name, "cancel", o.client_order_id),
        }, "Cancel") },
    ], rows, "No open orders.", (o) => ({ dataset: { cid: o.client_order_id, state: o.state } }));
    if (this.charts) this.charts.setOrders(rows);
  }

  renderFills() {
    fillBody(this.fillsBody, [
      { value: (f) => h("span", { title: datetime(f.ts_ms) }, time(f.ts_ms)) },
      { value: (f) => h("span", { class: `side ${f.side}` }, f.side) },
      { cls: "num", value: (f) => num(f.price) },
      { cls: "num", value: (f) => num(f.size) },
      { cls: "num", value: (f) => `${num(f.fee)} ${f.fee_ccy}` },
      { value: (f) => h("code", { class: "small" }, f.trade_id) },
      { value: (f) => h("code", { class: "small" }, f.client_order_id) },
    ], this.fills.slice(0, 100), "No fills yet.", (f) => ({ dataset: { trade: f.trade_id } }));
  }

  renderSide(s, b) {
    const headroom = (s.headroom || []).map((r) => h("div", { class: "headroom-row" },
      h("span", { class: "label" }, r.rule), headroomBar([r]), h("span", { class: "muted small" }, `per ${r.window_ms / 1000}s`)));
    const rec = s.reconciliation || {};
    replace(this.side,
      card("Rate-limit headroom", headroom.length ? headroom : h("p", { class: "muted" }, "–")),
      card("Journal and reconciliation",
        h("dl", { class: "facts" },
          h("dt", {}, "orders feed"), h("dd", {}, s.ws_orders ? "WebSocket (orders channel)" : "REST polling"),
          h("dt", {}, "dead-man switch"), h("dd", {}, s.dead_man ? "armed" : "off"),
          h("dt", {}, "reconciled at start"), h("dd", {}, Object.keys(rec).length ? Object.entries(rec).map(([k, v]) => `${k.replaceAll("_", " ")} ${v}`).join(" · ") : "–"),
          h("dt", {}, "unresolved intents"), h("dd", { class: "num" }, num(s.unresolved)),
          h("dt", {}, "foreign orders"), h("dd", {}, (s.foreign || []).length ? (s.foreign || []).join(", ") : "none"),
          h("dt", {}, "halted"), h("dd", {}, s.halted || "no"))),
      card("Last errors", (s.errors || []).length || b.last_error
        ? h("ul", { class: "errors" }, [b.last_error, ...(s.errors || [])].filter(Boolean).map((e) => h("li", {}, e)))
        : h("p", { class: "muted" }, "None.")));
  }

  onEvent(kind, data) {
    if (data.bot !== this.name) return;
    if (kind === "order") {
      this.orders.set(data.data.client_order_id, data.data);
      if (!OPEN.has(data.data.state)) this.orders.delete(data.data.client_order_id);
      this.renderOrders();
    } else if (kind === "fill") {
      this.fills.unshift(data.data);
      this.renderFills();
      if (this.charts) this.charts.addFill(data.data);
      const b = this.bot;
      if (b && b.status) { b.status.fills = (b.status.fills || 0) + 1; }
      this.app.schedule(() => this.render());
    } else if (kind === "status") {
      const s = (data.data && data.data.status) || {};
      this.orders = new Map((s.orders || []).map((o) => [o.client_order_id, o]));
      if (this.charts) this.charts.addSample(data.ts_ms, s.mid, s.pnl);
      this.app.schedule(() => this.render());
    } else {
      if (kind === "bot" || kind === "crash") this.app.schedule(() => this.render());
      this.logs = [...(this.logs || []), { ts: new Date(data.ts_ms).toISOString(), level: "event", msg: `${kind}: ${describe(data)}` }].slice(-200);
    }
  }

  close() {
    if (this.charts) this.charts.close();
  }
}
