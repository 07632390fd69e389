// Orders and fills (filtered, paged), key posture (with panic), rate limits.
import { api, canControl } from "/static/api.js";
import { ago, datetime, h, num, replace } from "/static/dom.js";
import { ask, badge, card, table, toast } from "/static/ui.js";

class Paged {
  constructor(app, { title, path, filters, columns, rowAttrs }) {
    this.app = app;
    this.path = path;
    this.columns = columns;
    this.rowAttrs = rowAttrs;
    this.offset = 0;
    this.limit = 50;
    this.controls = {};
    this.el = h("div", { class: "view" });
    this.box = h("div", {});
    this.pager = h("div", { class: "pager" });
    const bar = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); this.offset = 0; this.load(); } });
    for (const f of filters) {
      const input = f.options
        ? h("select", { name: f.name, onchange: () => { this.offset = 0; this.load(); } }, f.options.map((o) => h("option", { value: o }, o || `any ${f.label}`)))
        : h("input", { name: f.name, placeholder: f.label, type: "text", size: 14 });
      this.controls[f.name] = input;
      bar.append(h("label", {}, f.label, input));
    }
    bar.append(h("button", { type: "submit", class: "small" }, "Filter"));
    this.el.append(h("div", { class: "page-head" }, h("h1", {}, title)), card(null, bar, this.box, this.pager));
  }

  async load() {
    const params = new URLSearchParams({ limit: this.limit, offset: this.offset });
    for (const [name, input] of Object.entries(this.controls)) if (input.value.trim()) params.set(name, input.value.trim());
    try {
      const page = await api(`${this.path}?${params}`);
      replace(this.box, table(this.columns, page.items, { rowAttrs: this.rowAttrs, empty: "Nothing matches." }));
      const last = Math.min(page.total, page.offset + page.items.length);
      replace(this.pager,
        h("span", { class: "muted" }, page.total ? `${page.offset + 1}–${last} of ${num(page.total)}` : "0 rows"),
        h("button", { class: "small ghost", disabled: page.offset === 0, onclick: () => { this.offset = Math.max(0, this.offset - this.limit); this.load(); } }, "← Newer"),
        h("button", { class: "small ghost", disabled: page.next_offset === null, onclick: () => { this.offset = page.next_offset; this.load(); } }, "Older →"));
    } catch (err) {
      replace(this.box, h("p", { class: "error-text", role: "alert" }, err.message));
    }
  }

  onEvent(kind) {
    if ((kind === "order" || kind === "fill") && this.offset === 0) this.app.schedule(() => this.load(), 1000);
  }

  close() {}
}

const botLink = (name) => h("a", { href: `#/bot/${encodeURIComponent(name)}` }, name);

export function ordersPage(app) {
  return new Paged(app, {
    title: "Orders",
    path: "/api/orders",
    filters: [
      { name: "bot", label: "bot" },
      { name: "state", label: "state", options: ["", "open", "final", "live", "partially_filled", "filled", "canceled", "rejected", "unknown"] },
      { name: "side", label: "side", options: ["", "buy", "sell"] },
      { name: "symbol", label: "symbol" },
    ],
    columns: [
      { label: "Created", value: (o) => datetime(o.created_ms) },
      { label: "Bot", value: (o) => botLink(o.bot) },
      { label: "Pair", value: (o) => o.symbol },
      { label: "Side", value: (o) => h("span", { class: `side ${o.side}` }, o.side) },
      { label: "Price", cls: "num", value: (o) => num(o.price) },
      { label: "Amount", cls: "num", value: (o) => num(o.amount) },
      { label: "Filled", cls: "num", value: (o) => num(o.filled) },
      { label: "State", value: (o) => badge(o.state) },
      { label: "clOrdId", value: (o) => h("code", { class: "small" }, o.client_order_id) },
      { label: "OKX id", value: (o) => h("code", { class: "small" }, o.order_id || "–") },
    ],
    rowAttrs: (o) => ({ dataset: { cid: o.client_order_id } }),
  });
}

export function fillsPage(app) {
  return new Paged(app, {
    title: "Fills",
    path: "/api/fills",
    filters: [
      { name: "bot", label: "bot" },
      { name: "side", label: "side", options: ["", "buy", "sell"] },
      { name: "symbol", label: "symbol" },
    ],
    columns: [
      { label: "Time", value: (f) => datetime(f.ts_ms) },
      { label: "Bot", value: (f) => botLink(f.bot) },
      { label: "Pair", value: (f) => f.symbol },
      { label: "Side", value: (f) => h("span", { class: `side ${f.side}` }, f.side) },
      { label: "Price", cls: "num", value: (f) => num(f.price) },
      { label: "Size", cls: "num", value: (f) => num(f.size) },
      { label: "Fee", cls: "num", value: (f) => `${num(f.fee)} ${f.fee_ccy}` },
      { label: "Trade id", value: (f) => h("code", { class: "small" }, f.trade_id) },
    ],
  });
}

export class PosturePage {
  constructor(app) {
    this.app = app;
    this.el = h("div", { class: "view" });
    this.box = h("div", { class: "stack" });
    this.el.append(
      h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Key posture"),
        h("p", { class: "muted" }, "okxbot doctor's checks for every key the running bots use: permissions, IP binding, clock, environment."))),
      this.box);
  }

  async load() {
    const data = await api("/api/posture");
    const profiles = Object.entries(data.profiles);
    if (!profiles.length) {
      replace(this.box, card(null, h("p", { class: "muted" }, data.watching.length ? "Checking…" : "No running bot yet: a key is checked when a bot on it starts.")));
      return;
    }
    replace(this.box, profiles.map(([profile, result]) => card(null,
      h("div", { class: "card-head" },
        h("h2", { class: "plain" }, profile, " ", badge(result.ok ? "pass" : "fail"), result.sim ? h("span", { class: "muted small" }, " simulator") : null),
        h("span", { class: "muted small" }, `checked ${ago(result.checked_ms)}`),
        h("button", { class: "small ghost", onclick: () => this.check(profile) }, "Check now"),
        h("button", { class: "small danger", name: `panic-${profile}`, onclick: () => this.panic(profile) }, "Panic…")),
      table([
        { label: "Check", value: (c) => c.check },
        { label: "Result", value: (c) => badge(c.status) },
        { label: "Detail", value: (c) => c.detail },
        { label: "What to do", value: (c) => h("span", { class: "muted" }, c.fix || "") },
      ], result.checks))));
  }

  async check(profile) {
    try {
      await api(`/api/posture/${encodeURIComponent(profile)}/check`, { method: "POST" });
      await this.load();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  async panic(profile) {
    if (!canControl() && !(await this.app.unlock())) return;
    const typed = await ask({
      title: `Panic: key of ${profile} compromised?`,
      body: "Stops every bot on this key (on every supervisor), cancels EVERY open order on the account, disables the profile, exports the last 7 days, and shows what to do next.",
      confirm: "Panic", danger: true, typed: profile,
    });
    if (typed === null) return;
    try {
      const result = await api("/api/panic", { method: "POST", body: { profile, confirm: typed } });
      const dialog = h("dialog", { class: "dialog wide" },
        h("h3", {}, `Panic on ${profile}`),
        h("ul", {}, result.done.map((d) => h("li", {}, "done: ", d)), result.not_done.map((d) => h("li", { class: "error-text" }, "NOT DONE: ", d))),
        result.report_dir ? h("p", {}, "Report: ", h("code", {}, result.report_dir)) : null,
        h("p", { class: "strong" }, "Delete the key on OKX now (Profile > API keys > Delete)."),
        h("div", { class: "actions" }, h("button", { class: "primary", onclick: () => dialog.close() }, "Close")));
      dialog.addEventListener("close", () => dialog.remove());
      document.body.append(dialog);
      dialog.showModal();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  onEvent(kind) {
    if (kind === "posture") this.app.schedule(() => this.load(), 500);
  }

  close() {}
}

export class LimitsPage {
  constructor(app) {
    this.app = app;
    this.el = h("div", { class: "view" });
    this.box = h("div", { class: "stack" });
    this.el.append(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Rate limits"),
      h("p", { class: "muted" }, "OKX's buckets as okxbot counts them (fullest first); bots on one key share its buckets and connections."))), this.box);
    this.timer = setInterval(() => this.load(), 2000);
  }

  async load() {
    const data = await api("/api/limits");
    replace(this.box,
      card("Buckets in use", table([
        { label: "Rule", value: (b) => b.rule },
        { label: "Bucket", value: (b) => h("code", { class: "small" }, b.bucket) },
        { label: "Used", cls: "num", value: (b) => `${b.used} / ${b.capacity}` },
        { label: "", value: (b) => h("div", { class: "meter" },
            h("div", { class: `meter-fill ${b.used / b.capacity > 0.8 ? "bad" : b.used / b.capacity > 0.5 ? "warn" : "ok"}`, style: { width: `${Math.round((100 * b.used) / b.capacity)}%` } })) },
      ], data.buckets, { empty: "All buckets empty: full headroom." })),
      card("Keys shared by bots", table([
        { label: "Key", value: (r) => h("code", { class: "small" }, r[0]) },
        { label: "Bots (one client, one limiter, shared connections)", value: (r) => r[1].join(", ") },
      ], Object.entries(data.shared_keys))));
  }

  onEvent() {}

  close() {
    clearInterval(this.timer);
  }
}
