/* Lab entry: show the CTCAE grade and H/L flag of a row as it is typed. The server grades it with
   the lab service's own function (safety.services.grade_preview); nothing is computed here. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-grade-url]");
  if (!form) { return; }
  var timers = {};
  function show(row, state) {
    var cell = row.querySelector("[data-live-grade]");
    var saved = row.querySelector("[data-saved-grade]");
    if (!cell) { return; }
    var errors = state.errors || {};
    var names = Object.keys(errors);
    if (names.length) {
      cell.textContent = errors[names[0]].join(" ");
      cell.className = "small text-danger";
    } else {
      var parts = [];
      if (state.flag === "H" || state.flag === "L") { parts.push(state.flag); }
      if (state.ctcae_term) {
        parts.push(state.grade === null ? "not gradable" : "grade " + state.grade);
      }
      if (state.baseline_not_recorded) { parts.push("no baseline recorded"); }
      cell.textContent = parts.join(" · ") || "normal";
      cell.className = "small fw-semibold";
    }
    if (saved) { saved.hidden = true; }
  }
  function grade(row) {
    var code = row.getAttribute("data-test");
    var prefix = "r-" + code + "-";
    var value = form.elements[prefix + "value"];
    if (!value || !value.value.trim()) { return; }
    var data = new FormData(form);
    data.set("test_code", code);
    ["value", "unit", "lln", "uln"].forEach(function (name) {
      var field = form.elements[prefix + name];
      data.set(name, field ? field.value : "");
    });
    fetch(form.getAttribute("data-grade-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state) { show(row, state); } });
  }
  form.addEventListener("input", function (event) {
    var row = event.target.closest("tr[data-test]");
    if (!row) { return; }
    var code = row.getAttribute("data-test");
    window.clearTimeout(timers[code]);
    timers[code] = window.setTimeout(function () { grade(row); }, 300);
  });
  form.addEventListener("change", function (event) {
    var row = event.target.closest("tr[data-test]");
    if (row) { grade(row); }
  });
})();
