/* Daily CRS / ICANS forms: show the ASTCT grade while the values are typed.
   The form's current values are posted to the server, which grades them with the same service
   function the save uses (safety.services.grade_crs / grade_icans) and answers the grade and
   the sentence naming the deciding parameter, or the field errors. No rule is computed here.
   A static file (no inline script) so the Content-Security-Policy can forbid inline code. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var wrapper = document.querySelector("[data-live-grade-form]");
    var output = document.querySelector("[data-live-grade-output]");
    if (!wrapper || !output) { return; }
    var form = wrapper.querySelector("form");
    if (!form) { return; }
    var url = wrapper.getAttribute("data-grade-url");
    var recordId = wrapper.getAttribute("data-record-id") || "";
    var timer = null;
    var sequence = 0;

    function firstError(errors) {
      var fields = Object.keys(errors);
      for (var i = 0; i < fields.length; i++) {
        var list = errors[fields[i]];
        if (list && list.length) {
          var item = list[0];
          var label = form.querySelector("label[for='id_" + fields[i] + "']");
          var text = typeof item === "string" ? item : item.message;
          return (label ? label.textContent.replace(/\*$/, "").trim() + ": " : "") + text;
        }
      }
      return "";
    }

    function show(answer) {
      output.classList.remove("text-muted");
      if (answer.errors && Object.keys(answer.errors).length) {
        output.classList.add("text-muted");
        output.textContent = output.getAttribute("data-waiting") + " " + firstError(answer.errors);
        return;
      }
      output.textContent = answer.sentence;
    }

    function post() {
      var data = new FormData(form);
      data.append("record_id", recordId);
      var mine = ++sequence;
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        return response.json();
      }).then(function (answer) {
        if (mine === sequence) { show(answer); }
      }).catch(function () { /* the grade still appears after saving */ });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(post, 250);
    }

    if (!output.getAttribute("data-waiting")) {
      output.setAttribute("data-waiting", wrapper.getAttribute("data-waiting-text") || "Not graded yet —");
    }
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    // Values already in the form (a day being corrected, or typed before this script ran).
    var first = form.querySelector("[name='max_temperature_c'], [name='ice_orientation']");
    if (first && first.value) { schedule(); }
  });
})();
