/* Clients drilldown: the debtor concentration chart (data from json_script "concentration-data"). */
(function () {
  "use strict";
  var dataNode = document.getElementById("concentration-data");
  var canvas = document.getElementById("concentration-chart");
  if (!dataNode || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var shares = data.shares.map(Number);
  var limits = data.limits.map(function (v) { return v === null ? null : Number(v); });
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        {
          label: "Share of open amount",
          data: shares,
          backgroundColor: shares.map(function (s, i) {
            return limits[i] !== null && s > limits[i] ? "#b02a37" : "#1f5f8b";
          })
        },
        { label: "Limit", data: limits, type: "line", borderColor: "#6c757d", backgroundColor: "#6c757d",
          pointStyle: "line", pointRadius: 8, showLine: false }
      ]
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: false,
      scales: { x: { min: 0, max: 1, ticks: { callback: function (v) { return (v * 100).toFixed(0) + " %"; } } } },
      plugins: {
        tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + (ctx.parsed.x * 100).toFixed(2) + " %"; } } }
      }
    }
  });
})();
