// Small UI pieces shared by the views: cards, badges, tables, dialogs, toasts, exact decimal sums.
import { h, num, replace, signClass } from "/static/dom.js";

export function badge(state) {
  const kind = {
    running: "ok", starting: "info", stopping: "info", stopped: "muted", backoff: "warn", failed: "bad",
    pass: "ok", warn: "warn", fail: "bad", skip: "muted",
    live: "info", partially_filled: "info", sent: "info", intent: "warn", unknown: "warn",
    filled: "ok", canceled: "muted", rejected: "bad",
  }[state] || "muted";
  return h("span", { class: `badge ${kind}`, dataset: { state } }, String(state || "–").replaceAll("_", " "));
}

export function kpi(label, value, { cls = "", hint = null, testid = null } = {}) {
  return h("div", { class: "kpi" },
    h("div", { class: "kpi-label" }, label),
    h("div", { class: `kpi-value num ${cls}`, title: hint, dataset: testid ? { testid } : {} }, value));
}

export function money(value, opts = {}) {
  return h("span", { class: `num ${opts.signed ? signClass(value) : ""}` }, num(value, opts));
}

// columns: [{label, value: (row) => node|string, cls: "num"|..., key}]
export function table(columns, rows, { empty = "Nothing yet.", rowAttrs = null, testid = null } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.cls || "" }, c.label))));
  const body = h("tbody", {});
  fillBody(body, columns, rows, empty, rowAttrs);
  return h("div", { class: "table-wrap" }, h("table", { dataset: testid ? { testid } : {} }, head, body));
}

export function fillBody(body, columns, rows, empty = "Nothing yet.", rowAttrs = null) {
  if (!rows.length) {
    return replace(body, h("tr", { class: "empty" }, h("td", { colspan: columns.length }, empty)));
  }
  return replace(body, rows.map((row) =>
    h("tr", rowAttrs ? rowAttrs(row) : {}, columns.map((c) => h("td", { class: c.cls || "" }, c.value(row))))));
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h("div", { class: `toast ${kind}`, role: kind === "bad" ? "alert" : "status" }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "bad" ? 9000 : 4500);
}

// A modal question. `typed`: the user must type this text to confirm (panic).
export function ask({ title, body, confirm = "Confirm", danger = false, typed = null, password = false }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog" });
    const input = typed !== null || password
      ? h("input", {
          type: password ? "password" : "text", autocomplete: password ? "current-password" : "off",
          placeholder: password ? "dashboard password" : typed, "aria-label": password ? "password" : "confirmation",
          spellcheck: "false", name: password ? "password" : "confirm-text",
        })
      : null;
    const ok = h("button", { class: danger ? "danger" : "primary", type: "submit", disabled: typed !== null, name: "confirm" }, confirm);
    if (input && typed !== null) input.addEventListener("input", () => { ok.disabled = input.value !== typed; });
    const form = h("form", { method: "dialog" },
      h("h3", {}, title),
      h("p", {}, body),
      typed !== null ? h("p", { class: "muted" }, "Type ", h("code", {}, typed), " to confirm.") : null,
      input,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "ghost", onclick: () => dialog.close("cancel"), name: "cancel" }, "Cancel"),
        ok));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      dialog.close("ok");
    });
    dialog.append(form);
    dialog.addEventListener("close", () => {
      const value = dialog.returnValue === "ok" ? (input ? input.value : true) : null;
      dialog.remove();
      resolve(value);
    });
    document.body.append(dialog);
    dialog.showModal();
    (input || ok).focus();
  });
}

// ---- exact decimal sums (Decimal strings in, Decimal string out; never floats) ---------------------
function parts(text) {
  const negative = text.startsWith("-");
  const [int, frac = ""] = (negative ? text.slice(1) : text).split(".");
  return { negative, int: int || "0", frac };
}

export function decSum(values) {
  const clean = values.filter((v) => v !== null && v !== undefined && /^-?\d+(\.\d+)?$/.test(String(v))).map(String);
  if (!clean.length) return null;
  const scale = Math.max(...clean.map((v) => parts(v).frac.length));
  let total = 0n;
  for (const v of clean) {
    const p = parts(v);
    const n = BigInt(p.int + p.frac.padEnd(scale, "0"));
    total += p.negative ? -n : n;
  }
  const negative = total < 0n;
  let digits = (negative ? -total : total).toString().padStart(scale + 1, "0");
  let out = scale ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}` : digits;
  if (scale) out = out.replace(/\.?0+$/, "");
  return negative && out !== "0" ? `-${out}` : out;
}
