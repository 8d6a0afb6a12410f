// Traffic page: collapsible sub-sources and the visitors trend chart.
// Runs on load and again after htmx swaps the report body.
(function () {
  "use strict";

  var PALETTE = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599",
    "#e64980", "#5c940d", "#495057", "#7048e8", "#c92a2a"
  ];
  var chart = null;

  function setupToggles(root) {
    root.querySelectorAll("#source-table button.toggle").forEach(function (button) {
      var body = document.getElementById(button.getAttribute("aria-controls"));
      if (!body || button.dataset.ready) { return; }
      button.dataset.ready = "1";
      // Sub-sources start collapsed when scripts run; without scripts they stay visible.
      button.setAttribute("aria-expanded", "false");
      body.hidden = true;
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") === "true";
        button.setAttribute("aria-expanded", open ? "false" : "true");
        body.hidden = open;
      });
    });
  }

  function drawChart() {
    var dataNode = document.getElementById("trend-data");
    var canvas = document.getElementById("trend-chart");
    if (chart) { chart.destroy(); chart = null; }
    if (!dataNode || !canvas || typeof Chart === "undefined") { return; }

    var trend = JSON.parse(dataNode.textContent);
    if (!trend) { return; }
    chart = new Chart(canvas, {
      type: "line",
      data: {
        labels: trend.labels,
        datasets: trend.datasets.map(function (set, i) {
          return {
            label: set.label,
            data: set.data,
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            spanGaps: false,
            tension: 0.2,
            pointRadius: trend.labels.length > 40 ? 0 : 2
          };
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

  function init(root) {
    setupToggles(root);
    drawChart();
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.body.addEventListener("htmx:afterSettle", function () { init(document); });
})();
