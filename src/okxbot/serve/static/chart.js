// The bot page's charts (uPlot, vendored): price with the bot's open orders and fills, and equity.
import uPlot from "/static/vendor/uplot-1.6.32/uPlot.esm.js";

function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function axes(unit) {
  const grid = { stroke: css("--grid"), width: 1 };
  const font = "12px " + css("--mono-font");
  return [
    { stroke: css("--muted"), grid, ticks: grid, font },
    { stroke: css("--muted"), grid, ticks: grid, font, size: 80, label: unit, labelFont: font, labelSize: 16 },
  ];
}

// Merge price samples and fills on one time axis (seconds), as uPlot wants aligned columns.
function priceData(model) {
  const rows = new Map();
  const slot = (t) => {
    if (!rows.has(t)) rows.set(t, [null, null, null]);
    return rows.get(t);
  };
  for (const [ms, px] of model.prices) if (px !== null) slot(ms / 1000)[0] = Number(px);
  for (const f of model.fills) {
    const row = slot(f.ts_ms / 1000);
    row[f.side === "buy" ? 1 : 2] = Number(f.price);
  }
  const xs = [...rows.keys()].sort((a, b) => a - b);
  return [xs, xs.map((x) => rows.get(x)[0]), xs.map((x) => rows.get(x)[1]), xs.map((x) => rows.get(x)[2])];
}

function ordersPlugin(getOrders) {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.font = `${11 * devicePixelRatio}px ${css("--mono-font")}`;
        for (const o of getOrders()) {
          if (o.price === null) continue;
          const y = u.valToPos(Number(o.price), "y", true);
          if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
          ctx.strokeStyle = o.side === "buy" ? css("--buy") : css("--sell");
          ctx.globalAlpha = 0.75;
          ctx.beginPath();
          ctx.moveTo(u.bbox.left, y);
          ctx.lineTo(u.bbox.left + u.bbox.width, y);
          ctx.stroke();
          ctx.globalAlpha = 1;
          ctx.fillStyle = ctx.strokeStyle;
          ctx.textAlign = "right";
          ctx.fillText(`${o.side} ${o.amount} @ ${o.price}`, u.bbox.left + u.bbox.width - 6 * devicePixelRatio, y - 4 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

export class BotCharts {
  constructor(priceEl, equityEl, quote) {
    this.priceEl = priceEl;
    this.equityEl = equityEl;
    this.quote = quote;
    this.model = { prices: [], equity: [], fills: [], orders: [] };
    this.price = null;
    this.equity = null;
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(priceEl);
  }

  set(model) {
    this.model = model;
    this.draw();
  }

  addSample(ms, mid, pnl) {
    if (mid !== null && mid !== undefined) this.model.prices.push([ms, mid]);
    if (pnl !== null && pnl !== undefined) this.model.equity.push([ms, pnl]);
    if (this.model.prices.length > 4000) this.model.prices.splice(0, 500);
    if (this.model.equity.length > 4000) this.model.equity.splice(0, 500);
    this.update();
  }

  addFill(fill) {
    this.model.fills.push(fill);
    this.update();
  }

  setOrders(orders) {
    this.model.orders = orders;
    if (this.price) this.price.redraw(false);
  }

  draw() {
    this.destroy();
    const width = Math.max(320, this.priceEl.clientWidth);
    const pts = (fill) => ({ show: true, size: 9, width: 1.5, fill, stroke: css("--bg") });
    this.price = new uPlot(
      {
        width,
        height: 280,
        legend: { show: false },
        cursor: { points: { size: 6 } },
        scales: { x: { time: true } },
        axes: axes(this.quote),
        series: [
          {},
          { label: "mid", stroke: css("--accent"), width: 2, spanGaps: true, points: { show: false } },
          { label: "buy fill", stroke: css("--buy"), paths: () => null, points: pts(css("--buy")) },
          { label: "sell fill", stroke: css("--sell"), paths: () => null, points: pts(css("--sell")) },
        ],
        plugins: [ordersPlugin(() => this.model.orders.filter((o) => ["live", "partially_filled", "sent"].includes(o.state)))],
      },
      priceData(this.model),
      this.priceEl,
    );
    const eq = this.model.equity;
    this.equity = new uPlot(
      {
        width,
        height: 160,
        legend: { show: false },
        scales: { x: { time: true } },
        axes: axes(this.quote),
        series: [{}, { label: "equity", stroke: css("--pos"), fill: css("--pos-fill"), width: 2, points: { show: false } }],
      },
      [eq.map(([ms]) => ms / 1000), eq.map(([, v]) => Number(v))],
      this.equityEl,
    );
  }

  update() {
    if (!this.price) return;
    this.price.setData(priceData(this.model));
    const eq = this.model.equity;
    this.equity.setData([eq.map(([ms]) => ms / 1000), eq.map(([, v]) => Number(v))]);
  }

  fit() {
    if (!this.price) return;
    const width = Math.max(320, this.priceEl.clientWidth);
    this.price.setSize({ width, height: 280 });
    this.equity.setSize({ width, height: 160 });
  }

  destroy() {
    if (this.price) this.price.destroy();
    if (this.equity) this.equity.destroy();
    this.price = this.equity = null;
  }

  close() {
    this.resize.disconnect();
    this.destroy();
  }
}
