// Payout pages: "select all" checkbox on the queue, and a confirm() before forms marked data-confirm.
(function () {
  "use strict";
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll('input[name="' + all.dataset.selectAll + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
})();

// Batch page: poll the progress of a background execution, reload when it is done.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) {
    return;
  }
  var text = box.querySelector("[data-progress-text]");
  var bar = box.querySelector("[data-progress-bar]");
  function poll() {
    fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.status !== "executing") {
          window.location.reload();
          return;
        }
        if (state.total) {
          var pct = Math.round((100 * state.done) / state.total);
          text.textContent = state.done + " of " + state.total + " payouts";
          bar.style.width = pct + "%";
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
