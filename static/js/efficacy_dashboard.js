// The efficacy dashboard (templates/efficacy/dashboard/dashboard.html): while a newer save is
// being recomputed, polls the small status endpoint (efficacy.views_dashboard.status, JSON) and
// reloads the page once the stored endpoints are as new as the data, so the server renders
// them. Nothing is computed here.
(() => {
  const box = document.querySelector("[data-efficacy-status-url]");
  if (!box) return;
  const notice = box.querySelector("[data-testid='recomputing']");
  const shown = box.dataset.snapshotVersion;
  const poll = () => {
    fetch(box.dataset.efficacyStatusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((state) => {
        notice.classList.toggle("d-none", !state.stale);
        if (state.snapshot_data_version !== null && String(state.snapshot_data_version) !== shown && !state.stale) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, state.stale ? 1000 : 5000);
      })
      .catch(() => window.setTimeout(poll, 5000));
  };
  window.setTimeout(poll, box.dataset.stale === "true" ? 500 : 5000);
})();
