// Upload page: poll the import's status endpoint and drive the progress bar; reload when finished.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("import-bar");
  var phase = document.getElementById("import-phase");
  var count = document.getElementById("import-count");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.finished) { window.location.reload(); return; }
        var pct = s.total ? Math.floor((100 * s.done) / s.total) : 0;
        bar.style.width = pct + "%";
        bar.textContent = s.total ? pct + "%" : "";
        phase.textContent = s.phase || s.status;
        count.textContent = s.total ? "(" + s.done.toLocaleString() + " / " + s.total.toLocaleString() + ")" : "";
        window.setTimeout(poll, 700);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  poll();
})();
