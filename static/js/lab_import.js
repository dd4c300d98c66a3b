/* Lab CSV import: poll the commit's progress and move the progress bar (no inline script, CSP). */
(function () {
  "use strict";
  var box = document.querySelector("[data-testid='import-progress']");
  if (!box) { return; }
  var bar = box.querySelector("[data-progress]");
  var text = box.querySelector("[data-progress-text]");
  var done = box.querySelector("[data-progress-done]");
  function poll() {
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        bar.max = state.total || 1;
        bar.value = state.done || 0;
        if (state.state === "done") {
          var s = state.summary || {};
          text.textContent = "Done: " + (s.create || 0) + " created, " + (s.update || 0) +
            " updated, " + (s.unchanged || 0) + " unchanged.";
          done.hidden = false;
        } else if (state.state === "failed") {
          text.textContent = "The import failed: " + (state.message || "");
        } else {
          window.setTimeout(poll, 1000);
        }
      });
  }
  poll();
})();
