/* Trends: draws each series as a chart with the vendored Chart.js (static/vendor/chartjs).
 *
 * The numbers come from the page itself, a JSON data block (#trends-data): no request,
 * no inline script, nothing for the Content-Security-Policy to refuse. Without JavaScript
 * (or without the library) the tables below each chart show the same numbers; with it,
 * the chart is shown and the table folds away behind its "Table" summary.
 */
(function () {
  "use strict";

  // Colour-blind-safe palette (Okabe & Ito), then greys for "other" and the like.
  var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
    "#F0E442", "#000000", "#999999"];
  var LAST = /^(other|unrecognised|review|unknown|no URL)\b/;

  function colour(label, index) {
    return LAST.test(label) ? "#b8bfba" : PALETTE[index % PALETTE.length];
  }

  function draw(canvas, data) {
    var line = data.type === "line";
    var datasets = data.datasets.map(function (set, index) {
      var c = colour(set.label, index);
      return {
        label: set.label,
        data: set.data,
        backgroundColor: c,
        borderColor: c,
        borderWidth: line ? 2 : 0,
        spanGaps: false,
        pointRadius: line ? 3 : 0
      };
    });
    return new window.Chart(canvas, {
      type: data.type,
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: data.stacked },
          y: {
            stacked: data.stacked,
            beginAtZero: true,
            title: { display: true, text: data.valueName },
            ticks: { precision: line ? undefined : 0 }
          }
        }
      }
    });
  }

  function start() {
    var source = document.getElementById("trends-data");
    if (!source || typeof window.Chart === "undefined") {
      return; // the tables stay as they are
    }
    var payload = JSON.parse(source.textContent);
    var charts = {};
    payload.charts.forEach(function (chart) { charts[chart.id] = chart; });
    document.querySelectorAll("canvas[data-series]").forEach(function (canvas) {
      var data = charts[canvas.dataset.series];
      if (!data || data.datasets.length === 0) {
        return;
      }
      var box = canvas.parentElement;
      box.hidden = false;
      draw(canvas, data);
      var table = box.parentElement.querySelector("details.trend-table");
      if (table) {
        table.open = false;
      }
      canvas.dataset.drawn = "true";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
