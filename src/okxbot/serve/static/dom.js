// DOM helpers. Data is only ever put into the page as text (textContent / attributes), never as HTML:
// a bot name, an order id or a log line containing markup is shown as the characters it is.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

// ---- numbers: Decimal strings stay exact; only grouping and alignment are added --------------------
export function num(value, { sign = false, places = null } = {}) {
  if (value === null || value === undefined || value === "") return "–";
  let text = String(value);
  if (places !== null && /^-?\d+(\.\d+)?$/.test(text)) text = fixed(text, places);
  const negative = text.startsWith("-");
  const body = negative ? text.slice(1) : text;
  const [int, frac] = body.split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
  const out = frac !== undefined ? `${grouped}.${frac}` : grouped;
  if (negative) return `−${out}`;
  return sign && !/^0(\.0*)?$/.test(body) ? `+${out}` : out;
}

// round a decimal string to `places` without floating point (half away from zero)
export function fixed(text, places) {
  const negative = text.startsWith("-");
  let [int, frac = ""] = (negative ? text.slice(1) : text).split(".");
  if (frac.length <= places) {
    frac = frac.padEnd(places, "0");
  } else {
    const roundUp = frac.charCodeAt(places) >= 53; // '5'
    let digits = (int + frac.slice(0, places)).split("").map(Number);
    if (roundUp) {
      let i = digits.length - 1;
      while (i >= 0) {
        if (digits[i] === 9) { digits[i] = 0; i--; } else { digits[i]++; break; }
      }
      if (i < 0) digits.unshift(1);
    }
    const all = digits.join("");
    int = all.slice(0, all.length - places) || "0";
    frac = all.slice(all.length - places);
  }
  const out = places > 0 ? `${int}.${frac}` : int;
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}

export function signClass(value) {
  if (value === null || value === undefined) return "";
  const text = String(value);
  if (text.startsWith("-")) return "neg";
  return /[1-9]/.test(text) ? "pos" : "";
}

export function ago(ms) {
  if (!ms) return "–";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function time(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function datetime(ms) {
  if (!ms) return "–";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time(ms)}`;
}
