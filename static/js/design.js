// The design run's progress bar (templates/dosing/design/run.html): polls the run's progress
// (dosing.design_views.run_progress, JSON computed by the server) and reloads the page when the
// run has finished or failed, so the server renders the results. Nothing is computed here.
(() => {
  const box = document.querySelector("[data-run-progress-url]");
  if (!box) return;
  const bar = box.querySelector("progress");
  const status = box.querySelector("[data-testid='run-status']");
  const poll = () => {
    fetch(box.dataset.runProgressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((state) => {
        if (state.total) {
          bar.max = state.total;
          bar.value = state.done;
        }
        status.textContent = state.message;
        status.dataset.status = state.status;
        if (state.status === "done" || state.status === "failed") {
          window.location.reload();
        } else {
          window.setTimeout(poll, 500);
        }
      })
      .catch(() => window.setTimeout(poll, 2000));
  };
  poll();
})();
