// Traffic page: the filter form, collapsible sub-sources, the chart tables, and the trend and source-mix charts.
// Loaded with defer from the head, so it runs once per page load. Handlers are delegated from
// document, so they also work on HTML that htmx swaps in or restores from its history cache.
// Chart data comes from the json_script element "chart-data"; nothing here is inline, so a strict CSP can apply.
(function () {
  "use strict";

  var PALETTE = [
    "#1f6feb", "#d9480f", "#2b8a3e", "#ae3ec9", "#f08c00", "#0c8599",
    "#e64980", "#5c940d", "#495057", "#7048e8", "#c92a2a", "#364fc7"
  ];
  var FILTERS = "#report-filters";
  var DATE_INPUT = FILTERS + " .custom-range input[type=date]";

  var charts = [];
  // The chart-data element the current charts were drawn from, so repeated settle events draw once.
  var chartsDrawnFrom = null;
  // Swap state carried from htmx:beforeSwap to htmx:afterSwap.
  var reopenSeriesPicker = false;
  var focusedControl = null;

  // Sub-sources start collapsed when scripts run, and stay visible without scripts.
  // Buttons restored from the history cache keep the state they were saved in.
  function collapseSubSources(root) {
    root.querySelectorAll("#source-table button.toggle:not([data-ready])").forEach(function (button) {
      var body = document.getElementById(button.getAttribute("aria-controls"));
      if (!body) { return; }
      button.dataset.ready = "1";
      button.setAttribute("aria-expanded", "false");
      body.hidden = true;
    });
  }

  function toggleSubSources(button) {
    var body = document.getElementById(button.getAttribute("aria-controls"));
    if (!body) { return; }
    var open = button.getAttribute("aria-expanded") === "true";
    button.setAttribute("aria-expanded", open ? "false" : "true");
    body.hidden = open;
  }

  // The chart tables are rendered open for browsers without scripts, where no chart is drawn.
  // With scripts they start closed, and app.css hides their content until this function has run.
  function closeChartTables(root) {
    root.querySelectorAll(".chart-table:not([data-ready])").forEach(function (details) {
      details.open = false;
      details.dataset.ready = "1";
    });
  }

  // The filters apply when a select or checkbox changes. A date field applies only when the
  // user leaves the custom range, presses Enter or presses Show, because Chrome fires change
  // for every complete date while the user is still typing (the year 2026 passes through 0002).
  function onFilterChange(event) {
    var control = event.target;
    var form = control.closest(FILTERS);
    if (!form) { return; }
    if (control.matches(DATE_INPUT)) {
      form.querySelector("#range-select").value = "custom";
      return;
    }
    form.requestSubmit();
  }

  function onDateFocusOut(event) {
    var input = event.target;
    if (!input.matches(DATE_INPUT)) { return; }
    // After Enter or Show the form is already on its way: the field loses focus while htmx
    // sends it (the form has the htmx-request class) or after htmx removed it. A second
    // submit then is not an htmx request but a full page load.
    if (!input.isConnected || input.form.classList.contains("htmx-request")) { return; }
    var range = input.closest(".custom-range");
    var next = event.relatedTarget;
    // Moving between From and To, or to this form's Show button, which sends the form itself.
    if (next && (range.contains(next) || (next.form === input.form && next.type === "submit"))) { return; }

    var inputs = Array.prototype.slice.call(range.querySelectorAll("input[type=date]"));
    var edited = inputs.some(function (field) { return field.value !== field.defaultValue; });
    // A date input's value is "" until every part of the date is filled in.
    var complete = inputs.every(function (field) { return field.value !== ""; });
    if (edited && complete) {
      input.form.requestSubmit();
    }
  }

  // htmx restores focus only to elements with an id, so the filter controls are found again by
  // name (and value, for the chart-source checkboxes) after the form is swapped.
  function rememberFocus(target) {
    var active = document.activeElement;
    focusedControl = null;
    if (active && active.name && target.contains(active) && active.closest(FILTERS)) {
      focusedControl = { name: active.name, value: active.type === "checkbox" ? active.value : null };
    }
  }

  function restoreFocus() {
    if (!focusedControl) { return; }
    var selector = FILTERS + ' [name="' + CSS.escape(focusedControl.name) + '"]';
    if (focusedControl.value !== null) {
      selector += '[value="' + CSS.escape(focusedControl.value) + '"]';
    }
    var control = document.querySelector(selector);
    if (control && control !== document.activeElement) {
      control.focus({ preventScroll: true });
    }
    focusedControl = null;
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

  function destroyCharts() {
    charts.forEach(function (chart) {
      var canvas = chart.canvas;
      chart.destroy();
      // Chart.js leaves its sizes in a style attribute, which the CSP rejects when htmx restores
      // this HTML from its history cache. The canvases have no style of their own.
      if (canvas) { canvas.removeAttribute("style"); }
    });
    charts = [];
    chartsDrawnFrom = null;
  }

  function createChart(canvas, config) {
    var existing = Chart.getChart(canvas);
    if (existing) { existing.destroy(); }
    charts.push(new Chart(canvas, config));
  }

  function drawCharts() {
    var dataNode = document.getElementById("chart-data");
    if (dataNode && dataNode === chartsDrawnFrom) { return; }
    destroyCharts();
    if (!dataNode || typeof Chart === "undefined") { return; }
    var data = JSON.parse(dataNode.textContent);
    if (!data) { return; }
    chartsDrawnFrom = dataNode;

    var trendCanvas = document.getElementById("trend-chart");
    if (trendCanvas) {
      createChart(trendCanvas, {
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
      });
    }

    var mixCanvas = document.getElementById("mix-chart");
    if (mixCanvas) {
      // A stacked area needs two neighbouring periods to draw anything, so few periods get stacked bars.
      var asBars = data.labels.length <= 16;
      createChart(mixCanvas, {
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
      });
    }
  }

  function prepare(root) {
    collapseSubSources(root);
    closeChartTables(root);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#source-table button.toggle");
    if (button) { toggleSubSources(button); }
  });
  document.addEventListener("change", onFilterChange);
  document.addEventListener("focusout", onDateFocusOut);

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!event.detail.shouldSwap || !target) { return; }
    var picker = target.querySelector(".series-picker");
    reopenSeriesPicker = Boolean(picker && picker.open);
    rememberFocus(target);
  });
  document.addEventListener("htmx:afterSwap", function () {
    prepare(document);
    if (reopenSeriesPicker) {
      var picker = document.querySelector(FILTERS + " .series-picker");
      if (picker) { picker.open = true; }
      reopenSeriesPicker = false;
    }
    restoreFocus();
  });
  // Charts are drawn after settling, because while it settles htmx resets the class, style, width
  // and height attributes of a new element that replaced one with the same id (the canvases).
  document.addEventListener("htmx:afterSettle", drawCharts);
  // htmx saves the page's HTML before a pushed URL or a Back/Forward restore replaces it.
  document.addEventListener("htmx:beforeHistorySave", destroyCharts);

  function init() {
    prepare(document);
    drawCharts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
