// okxbot backtest compare: both runs' returns and drawdowns on one time axis (OkxCharts, charts.js).
(function () {
  "use strict";
  const { css, pct, data, options, empty, start } = OkxCharts;

  function twoSeries(el, key, height, label, extra) {
    const c = data.charts;
    if (c.t.length < 2) return empty(el, "No equity points in these results.");
    const series = [
      { label: "A " + label, stroke: css("--accent"), width: 2, value: (u, v) => pct(v), spanGaps: true },
      { label: "B " + label, stroke: css("--hold"), width: 2, value: (u, v) => pct(v), spanGaps: true },
    ];
    return new uPlot(options(el, height, series, (v) => v.toFixed(1) + " %", extra), [c.t, c[key + "_a"], c[key + "_b"]], el);
  }

  start({
    "return-chart": (el) => twoSeries(el, "return", 320, "return"),
    "drawdown-chart": (el) => twoSeries(el, "drawdown", 200, "drawdown"),
  });
})();
