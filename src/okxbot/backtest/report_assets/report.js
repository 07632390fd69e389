// okxbot backtest report: draws the charts from the JSON embedded in the page (uPlot, inlined above).
// Tables are already in the HTML; this script only adds the charts and the theme switch. Text from the
// result never goes through innerHTML: markup in a bot name stays text.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.documentElement;
  const THEME_KEY = "okxbot-report-theme";
  const css = (name) => getComputedStyle(root).getPropertyValue(name).trim();
  const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const small = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 6 });
  const fmt = (v) => (v == null ? "" : Math.abs(v) >= 100 ? num.format(v) : small.format(v));
  let charts = [];
  let syncing = false;

  function storedTheme() {
    try {
      return localStorage.getItem(THEME_KEY);
    } catch (err) {
      return null; // storage can be off for file:// pages
    }
  }

  function applyTheme(theme, remember) {
    root.dataset.theme = theme;
    document.getElementById("theme").textContent = theme === "dark" ? "Light theme" : "Dark theme";
    if (remember) {
      try {
        localStorage.setItem(THEME_KEY, theme);
      } catch (err) {
        /* not remembered: fine */
      }
    }
    draw();
  }

  const pad2 = (n) => String(n).padStart(2, "0");
  const utc = (s) => new Date(s * 1000).toISOString().slice(0, 16).replace("T", " ");
  // time axis in UTC, 24 h: dates at midnight (and for day-sized steps), hours:minutes otherwise
  function timeValues(u, splits, axis, space, incr) {
    return splits.map((s) => {
      const d = new Date(s * 1000);
      const date = d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
      const hm = pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes());
      if (incr >= 86400 || hm === "00:00") return incr >= 86400 * 28 ? date.slice(0, 7) : date;
      return hm;
    });
  }

  function axes(yValues) {
    const grid = { stroke: css("--grid"), width: 1 };
    const font = "12px " + css("--mono-font");
    return [
      { stroke: css("--muted"), grid, ticks: grid, font, values: timeValues, space: 70 },
      { stroke: css("--muted"), grid, ticks: grid, font, size: 86, values: (u, vals) => vals.map(yValues) },
    ];
  }

  function base(el, height, series, yValues, extra) {
    return Object.assign(
      {
        width: el.clientWidth,
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
        cursor: { sync: { key: "okxbot-backtest" }, drag: { x: true, y: false } },
        legend: { show: true, live: true },
        axes: axes(yValues),
        padding: [10, 36, 0, 0],
        series: [{ label: "UTC", value: (u, v) => (v == null ? "" : utc(v)) }, ...series],
        hooks: { setScale: [followZoom] },
      },
      extra || {},
    );
  }

  // zooming one chart zooms the others to the same time range (double click resets all)
  function followZoom(u, key) {
    if (key !== "x" || syncing) return;
    syncing = true;
    for (const c of charts) {
      if (c !== u) c.setScale("x", { min: u.scales.x.min, max: u.scales.x.max });
    }
    syncing = false;
  }

  function empty(el, text) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    el.replaceChildren(p);
  }

  function equityChart(el) {
    const e = data.charts.equity;
    if (e.t.length < 2) return empty(el, "No equity points in this result.");
    const quote = data.quote;
    const series = [
      { label: "Equity (" + quote + ")", stroke: css("--accent"), width: 2, fill: css("--accent-fill"), value: (u, v) => fmt(v) },
    ];
    const cols = [e.t, e.equity];
    if (e.hold.some((v) => v !== null)) {
      series.push({ label: "Buy & hold", stroke: css("--hold"), width: 1.5, dash: [6, 4], value: (u, v) => fmt(v) });
      cols.push(e.hold);
    }
    return new uPlot(base(el, 300, series, fmt), cols, el);
  }

  function drawdownChart(el) {
    const e = data.charts.equity;
    if (e.t.length < 2) return empty(el, "No equity points in this result.");
    const series = [
      { label: "Drawdown", stroke: css("--neg"), width: 1.5, fill: css("--neg-fill"), value: (u, v) => (v == null ? "" : v.toFixed(2) + " %") },
    ];
    const opts = base(el, 170, series, (v) => v.toFixed(1) + " %", { scales: { y: { range: (u, min) => [Math.min(min, -0.5) * 1.08, 0] } } });
    return new uPlot(opts, [e.t, e.drawdown], el);
  }

  function markerRange(m) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const rows of [m.fills, m.orders]) {
      for (const r of rows) {
        if (r[1] < lo) lo = r[1];
        if (r[1] > hi) hi = r[1];
      }
    }
    return [lo, hi];
  }

  // orders as short dashes at their price, fills as triangles (buy up, sell down) pointing at the price
  function markersPlugin(m) {
    return {
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            const { left, top, width, height } = u.bbox;
            const dpr = devicePixelRatio || 1;
            ctx.save();
            ctx.beginPath();
            ctx.rect(left, top, width, height);
            ctx.clip();
            ctx.lineWidth = 2 * dpr;
            for (const side of ["buy", "sell"]) {
              ctx.strokeStyle = css(side === "buy" ? "--order-buy" : "--order-sell");
              ctx.beginPath();
              for (const [t, px, s] of m.orders) {
                if (s !== side) continue;
                const x = u.valToPos(t, "x", true);
                const y = u.valToPos(px, "y", true);
                ctx.moveTo(x - 6 * dpr, y);
                ctx.lineTo(x + 6 * dpr, y);
              }
              ctx.stroke();
            }
            const s = 5 * dpr;
            for (const side of ["buy", "sell"]) {
              ctx.fillStyle = css(side === "buy" ? "--buy" : "--sell");
              ctx.beginPath();
              const dir = side === "buy" ? 1 : -1;
              for (const [t, px, fs] of m.fills) {
                if (fs !== side) continue;
                const x = u.valToPos(t, "x", true);
                const y = u.valToPos(px, "y", true);
                ctx.moveTo(x, y);
                ctx.lineTo(x + s, y + dir * 1.7 * s);
                ctx.lineTo(x - s, y + dir * 1.7 * s);
                ctx.closePath();
              }
              ctx.fill();
            }
            ctx.restore();
          },
        ],
      },
    };
  }

  function priceChart(el) {
    const p = data.charts.price;
    const m = data.charts.markers;
    if (p.t.length < 1) return empty(el, "No prices in this result.");
    const [lo, hi] = markerRange(m);
    const series = [{ label: data.symbol, stroke: css("--price"), width: 1.25, value: (u, v) => fmt(v) }];
    const opts = base(el, 340, series, fmt, {
      plugins: [markersPlugin(m)],
      scales: {
        y: {
          range: (u, min, max) => {
            const a = Math.min(min, lo);
            const b = Math.max(max, hi);
            const pad = (b - a || Math.abs(b) || 1) * 0.06;
            return [a - pad, b + pad];
          },
        },
      },
    });
    return new uPlot(opts, [p.t, p.price], el);
  }

  function draw() {
    for (const c of charts) c.destroy();
    charts = [];
    const make = [
      ["equity-chart", equityChart],
      ["drawdown-chart", drawdownChart],
      ["price-chart", priceChart],
    ];
    for (const [id, build] of make) {
      const el = document.getElementById(id);
      el.replaceChildren();
      const chart = build(el);
      if (chart) charts.push(chart);
    }
    document.body.dataset.charts = String(charts.length);
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of charts) c.setSize({ width: c.root.parentElement.clientWidth, height: c.height });
    }, 100);
  });
  document.getElementById("theme").addEventListener("click", () => {
    applyTheme(root.dataset.theme === "dark" ? "light" : "dark", true);
  });
  const prefersLight = window.matchMedia && matchMedia("(prefers-color-scheme: light)").matches;
  applyTheme(storedTheme() || (prefersLight ? "light" : "dark"), false);
})();
