// okxbot backtest pages (report, compare): what every chart shares. uPlot is inlined above; the page's
// own script (report.js / compare.js) registers its charts with OkxCharts.start({id: build, ...}).
// Text from a result never goes through innerHTML: markup in a bot name stays text.
const OkxCharts = (function () {
  "use strict";
  const root = document.documentElement;
  const THEME_KEY = "okxbot-report-theme";
  const css = (name) => getComputedStyle(root).getPropertyValue(name).trim();
  const num = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  const small = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 6 });
  const fmt = (v) => (v == null ? "" : Math.abs(v) >= 100 ? num.format(v) : small.format(v));
  const pct = (v) => (v == null ? "" : v.toFixed(2) + " %");
  const data = JSON.parse(document.getElementById("report-data").textContent);
  let builders = {};
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

  // room for one time label (a date is the widest) plus a gap: uPlot puts ticks at least this far
  // apart, so labels never run into each other, whatever the font and the run's length
  function labelSpace(font) {
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = font;
    return Math.ceil(ctx.measureText("2026-12-31").width) + 24;
  }

  function axes(yValues) {
    const grid = { stroke: css("--grid"), width: 1 };
    const font = "12px " + css("--mono-font");
    return [
      { stroke: css("--muted"), grid, ticks: grid, font, values: timeValues, space: labelSpace(font) },
      { stroke: css("--muted"), grid, ticks: grid, font, size: 86, values: (u, vals) => vals.map(yValues) },
    ];
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

  function options(el, height, series, yValues, extra) {
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

  function empty(el, text) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = text;
    el.replaceChildren(p);
    return null;
  }

  function draw() {
    for (const c of charts) c.destroy();
    charts = [];
    for (const [id, build] of Object.entries(builders)) {
      const el = document.getElementById(id);
      el.replaceChildren();
      const chart = build(el);
      if (chart) charts.push(chart);
    }
    document.body.dataset.charts = String(charts.length);
  }

  function start(chartBuilders) {
    builders = chartBuilders;
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
  }

  return { css, fmt, pct, data, options, empty, start };
})();
