/* Risk overview charts. Data comes from risk.selectors.Overview.chart_data() via json_script
   ("risk-chart-data"); the tables on the page show the same numbers. */
(function () {
  "use strict";
  var el = document.getElementById("risk-chart-data");
  if (!el || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(el.textContent);
  var palette = ["#123b5d", "#2a7ab0", "#c77c02", "#6b8e23", "#8b3a62", "#5f6b73"];

  var ratioCanvas = document.getElementById("risk-ratio-chart");
  if (ratioCanvas) {
    var colours = data.ratio.labels.map(function (_, i) {
      if (i === data.ratio.labels.length - 1) { return "#b02a37"; }   // over limit
      if (i === data.ratio.labels.length - 2) { return "#c77c02"; }   // 90-100 %
      return "#2a7ab0";
    });
    new window.Chart(ratioCanvas, {
      type: "bar",
      data: { labels: data.ratio.labels, datasets: [{ label: "Clients", data: data.ratio.counts, backgroundColor: colours }] },
      options: {
        plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "clients" } },
                  x: { title: { display: true, text: "exposure / credit limit" } } }
      }
    });
  }

  var agingCanvas = document.getElementById("risk-aging-chart");
  if (agingCanvas) {
    new window.Chart(agingCanvas, {
      type: "bar",
      data: {
        labels: data.aging.labels,
        datasets: data.aging.series.map(function (s, i) {
          return { label: s.currency, data: s.amounts.map(Number), backgroundColor: palette[i % palette.length] };
        })
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: "open amount (per currency, no FX)" } },
                  x: { title: { display: true, text: "days past due" } } }
      }
    });
  }
})();
