// The "Print" button of a printable page (the SAE report): the browser's print dialog, whose
// layout comes from the @media print rules of css/trialsite.css.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
