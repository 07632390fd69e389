// okxbot backtest report: equity, drawdown, and the price with the bot's orders and fills
// (OkxCharts from charts.js; the data is the JSON embedded in the page).
(function () {
  "use strict";
  const { css, fmt, pct, data, options, empty, start } = OkxCharts;

  function equityChart(el) {
    const e = data.charts.equity;
    if (e.t.length < 2) return empty(el, "No equity points in this result.");
    const series = [
      { label: "Equity (" + data.quote + ")", stroke: css("--accent"), width: 2, fill: css("--accent-fill"), value: (u, v) => fmt(v) },
    ];
    const cols = [e.t, e.equity];
    if (e.hold.some((v) => v !== null)) {
      series.push({ label: "Buy & hold", stroke: css("--hold"), width: 1.5, dash: [6, 4], value: (u, v) => fmt(v) });
      cols.push(e.hold);
    }
    return new uPlot(options(el, 300, series, fmt), cols, el);
  }

  function drawdownChart(el) {
    const e = data.charts.equity;
    if (e.t.length < 2) return empty(el, "No equity points in this result.");
    const series = [{ label: "Drawdown", stroke: css("--neg"), width: 1.5, fill: css("--neg-fill"), value: (u, v) => pct(v) }];
    const range = { y: { range: (u, min) => [Math.min(min, -0.5) * 1.08, 0] } };
    return new uPlot(options(el, 170, series, (v) => v.toFixed(1) + " %", { scales: range }), [e.t, e.drawdown], el);
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
    const y = {
      range: (u, min, max) => {
        const a = Math.min(min, lo);
        const b = Math.max(max, hi);
        const pad = (b - a || Math.abs(b) || 1) * 0.06;
        return [a - pad, b + pad];
      },
    };
    return new uPlot(options(el, 340, series, fmt, { plugins: [markersPlugin(m)], scales: { y } }), [p.t, p.price], el);
  }

  start({ "equity-chart": equityChart, "drawdown-chart": drawdownChart, "price-chart": priceChart });
})();
