// trialsite's own behaviour, as a file: the Content-Security-Policy (script-src 'self') forbids
// inline scripts and on…= handlers.

// A <select data-autosubmit> (the study switcher) submits its form as soon as a value is chosen;
// without JavaScript the <noscript> button beside it does.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
