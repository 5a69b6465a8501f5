// Portfolio overview charts: stacked principal / interest / collections bars per month and the
// closing balance as a line, for the base case and the scenario side by side.
// Data comes from the json_script element "portfolio-chart-data" (amounts as decimal strings).
(function () {
  "use strict";
  var source = document.getElementById("portfolio-chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var numbers = function (values) {
    return values.map(function (v) { return Number(v); });
  };
  var draw = function (canvasId, series, title) {
    var canvas = document.getElementById(canvasId);
    if (!canvas) {
      return;
    }
    new Chart(canvas, {
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: "Principal", data: numbers(series.principal), stack: "flows", backgroundColor: "#1f4e79", yAxisID: "y" },
          { type: "bar", label: "Interest", data: numbers(series.interest), stack: "flows", backgroundColor: "#f0a202", yAxisID: "y" },
          { type: "bar", label: "Collections", data: numbers(series.collections), stack: "flows", backgroundColor: "#5b9bd5", yAxisID: "y" },
          { type: "line", label: "Closing balance", data: numbers(series.closing), borderColor: "#c0392b", backgroundColor: "#c0392b", yAxisID: "balance", tension: 0.1 }
        ]
      },
      options: {
        responsive: true,
        interaction: { mode: "index", intersect: false },
        plugins: { title: { display: true, text: title + " (" + data.currency + ")" } },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, title: { display: true, text: "Flows per month" } },
          balance: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "Closing balance" } }
        }
      }
    });
  };
  draw("portfolio-chart-base", data.base, "Base");
  draw("portfolio-chart-scenario", data.scenario, "Scenario: " + data.scenario_label);
})();
