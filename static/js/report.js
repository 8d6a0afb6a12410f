// Traffic page: collapsible sub-sources, the custom range, and the trend and source-mix charts.
// Runs on load and again after htmx swaps the report body. Data comes from the
// json_script element "chart-data"; nothing here is inline, so a strict CSP can apply.
(function () {
  "use strict";

  var PALETTE = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599",
    "#e64980", "#5c940d", "#495057", "#7048e8", "#c92a2a", "#364fc7"
  ];
  var charts = [];

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

  // Typing a date means a custom range; the change event then reaches the form and htmx.
  function setupCustomRange(root) {
    var select = root.querySelector("#range-select");
    if (!select || select.dataset.ready) { return; }
    select.dataset.ready = "1";
    root.querySelectorAll(".custom-range input[type=date]").forEach(function (input) {
      input.addEventListener("change", function () { select.value = "custom"; });
    });
  }

  function color(index) { return PALETTE[index % PALETTE.length]; }

  function lineDatasets(data) {
    return data.datasets.map(function (set, i) {
      return {
        label: set.label,
        data: set.data,
        borderColor: color(i),
        backgroundColor: color(i),
        // A derived point is drawn hollow.
        pointBackgroundColor: set.derived.map(function (derived) { return derived ? "#ffffff" : color(i); }),
        spanGaps: false,
        tension: 0.2,
        pointRadius: data.labels.length > 60 ? 1 : 3
      };
    });
  }

  function drawCharts() {
    charts.forEach(function (chart) { chart.destroy(); });
    charts = [];
    var dataNode = document.getElementById("chart-data");
    if (!dataNode || typeof Chart === "undefined") { return; }
    var data = JSON.parse(dataNode.textContent);
    if (!data) { return; }

    var trendCanvas = document.getElementById("trend-chart");
    if (trendCanvas) {
      charts.push(new Chart(trendCanvas, {
        type: "line",
        data: { labels: data.labels, datasets: lineDatasets(data) },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            y: {
              beginAtZero: true,
              ticks: { callback: function (value) { return data.isRate ? value + "%" : value; } }
            }
          },
          plugins: { legend: { position: "bottom" } }
        }
      }));
    }

    var mixCanvas = document.getElementById("mix-chart");
    if (mixCanvas) {
      // A stacked area needs two neighbouring periods to draw anything, so few periods get stacked bars.
      var asBars = data.labels.length <= 16;
      charts.push(new Chart(mixCanvas, {
        type: asBars ? "bar" : "line",
        data: {
          labels: data.labels,
          datasets: data.mix.map(function (set, i) {
            return {
              label: set.label,
              data: set.data,
              borderColor: color(i),
              backgroundColor: color(i) + "b3",
              fill: asBars ? false : (i === 0 ? "origin" : "-1"),
              pointRadius: 0,
              borderWidth: 1
            };
          })
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          interaction: { mode: "index", intersect: false },
          scales: {
            x: { stacked: asBars },
            y: {
              stacked: true,
              min: 0,
              max: 100,
              title: { display: true, text: data.texts.mixAxis },
              ticks: { callback: function (value) { return value + "%"; } }
            }
          },
          plugins: { legend: { position: "bottom" } }
        }
      }));
    }
  }

  function init() {
    setupToggles(document);
    setupCustomRange(document);
    drawCharts();
  }

  document.addEventListener("DOMContentLoaded", init);
  document.body.addEventListener("htmx:afterSettle", init);
})();
