// Peer benchmarks page: grouped bars of source mix and conversion, and the gap trend.
// Page data comes from json_script tags; runs on load and after htmx swaps the body.
(function () {
  "use strict";

  var COLORS = {
    own: "#1f6feb",
    band: "rgba(120, 130, 150, 0.35)",
    median: "#5b6478",
    top_median: "#2b8a3e"
  };
  var TREND_PALETTE = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599",
    "#e64980", "#5c940d", "#495057", "#7048e8", "#c92a2a"
  ];
  var charts = [];

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function percentTick(value) {
    return value + "%";
  }

  // Bars for your store, the peer median and the top-store median, with the
  // 25th-75th percentile band as a floating bar between them.
  function barChart(canvas, data) {
    var datasets = [];
    data.datasets.forEach(function (set) {
      datasets.push({ label: set.label, data: set.data, backgroundColor: COLORS[set.key] });
      if (set.key === "own") {
        datasets.push({
          label: data.bands.label,
          data: data.bands.low.map(function (low, i) {
            var high = data.bands.high[i];
            return low === null || high === null ? null : [low, high];
          }),
          backgroundColor: COLORS.band
        });
      }
    });
    return new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { callback: percentTick } } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: function (context) {
                var value = context.raw;
                if (Array.isArray(value)) {
                  return context.dataset.label + ": " + value[0].toFixed(2) + "% – " + value[1].toFixed(2) + "%";
                }
                return context.dataset.label + ": " + (value === null ? "—" : value.toFixed(2) + "%");
              }
            }
          }
        }
      }
    });
  }

  function trendChart(canvas, trend) {
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: trend.labels,
        datasets: trend.datasets.map(function (set, i) {
          var color = TREND_PALETTE[i % TREND_PALETTE.length];
          return { label: set.label, data: set.data, borderColor: color, backgroundColor: color, tension: 0.2, spanGaps: false };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function draw() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    if (typeof Chart === "undefined") { return; }

    var data = readJson("benchmark-charts");
    var mix = document.getElementById("mix-chart");
    var conversion = document.getElementById("conversion-chart");
    if (data && mix) { charts.push(barChart(mix, data.mix)); }
    if (data && conversion) { charts.push(barChart(conversion, data.conversion)); }

    var trend = readJson("gap-trend-data");
    var trendCanvas = document.getElementById("gap-trend-chart");
    if (trend && trendCanvas) { charts.push(trendChart(trendCanvas, trend)); }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", draw);
})();
