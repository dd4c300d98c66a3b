// Draws every <canvas data-chart="ID"> from the chart specification the server wrote into
// <script type="application/json" id="ID"> (Django's json_script). The numbers are the server's
// (trialsite/charts.py): nothing is computed here, and every chart has its data as CSV beside it.
/* global Chart */
document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
  const source = document.getElementById(canvas.dataset.chart);
  if (!source || typeof Chart === "undefined") return;
  const spec = JSON.parse(source.textContent);
  spec.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, spec.options);
  canvas.chart = new Chart(canvas, spec);
  canvas.dataset.drawn = "true";
});
// Charts are redrawn at the paper's width when printed.
window.addEventListener("beforeprint", () => {
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => canvas.chart && canvas.chart.resize());
});
