/* The AE form's term picker: a search box that asks the server for matching CTCAE terms
   (/safety/ctcae-terms/?q=) and narrows the <select> to them, and the grade texts of the chosen
   term beside the grade field (/safety/ctcae-terms/?id=). Without JavaScript the full <select>
   and the server-rendered grade texts work alone. No clinical rule lives here: the grade limit
   is checked by the server. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  ready(function () {
    var root = document.getElementById("ae-form");
    if (!root) { return; }
    var url = root.getAttribute("data-term-search-url");
    var select = root.querySelector("[data-term-select]");
    var box = root.querySelector("[data-term-search-box]");
    var input = root.querySelector("[data-term-search]");
    var status = root.querySelector("[data-term-search-status]");
    var panel = root.querySelector("[data-grade-definitions]");
    if (!url || !select || !input || !panel) { return; }
    function msg(name) { return root.getAttribute("data-msg-" + name) || ""; }
    box.hidden = false;
    var allOptions = select.innerHTML;
    var timer = null;
    var sequence = 0;

    function fetchJson(query) {
      return fetch(url + "?" + query, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); });
    }

    function showGrades(term) {
      panel.textContent = "";
      if (!term) {
        panel.appendChild(el("p", { "class": "mb-0 text-muted", "data-grade-empty": "" }, msg("choose-term")));
        return;
      }
      var title = el("h2", { "class": "h6 mb-1", "data-grade-term": "" }, term.term + " ");
      title.appendChild(el("span", { "class": "text-muted fw-normal" }, "(" + term.soc + " · " + term.grading_scale_label + ")"));
      panel.appendChild(title);
      var list = el("dl", { "class": "row mb-0", "data-grade-list": "" });
      term.grades.forEach(function (g) {
        list.appendChild(el("dt", { "class": "col-sm-2", "data-grade": String(g.grade) }, msg("grade") + " " + g.grade));
        list.appendChild(el("dd", { "class": "col-sm-10" }, g.text));
      });
      panel.appendChild(list);
      if (term.max_grade < 5) {
        panel.appendChild(el("p", { "class": "mb-0 text-muted", "data-grade-max": "" }, msg("no-grade-above") + " " + term.max_grade + "."));
      }
    }

    function loadGrades() {
      if (!select.value) { showGrades(null); return; }
      fetchJson("id=" + encodeURIComponent(select.value))
        .then(function (data) { showGrades(data.results[0] || null); })
        .catch(function () { /* the server-rendered texts stay; the save still checks the grade */ });
    }

    function search() {
      var q = input.value.trim();
      var mine = ++sequence;
      if (!q) { select.innerHTML = allOptions; status.textContent = ""; return; }
      fetchJson("q=" + encodeURIComponent(q)).then(function (data) {
        if (mine !== sequence) { return; }
        var chosen = select.value;
        select.textContent = "";
        select.appendChild(el("option", { value: "" }, data.results.length ? msg("choose-one") + " (" + data.results.length + ")" : msg("no-match")));
        data.results.forEach(function (t) {
          var option = el("option", { value: String(t.id) }, t.term + " — " + t.soc);
          if (String(t.id) === chosen) { option.selected = true; }
          select.appendChild(option);
        });
        status.textContent = data.results.length + " " + msg("matching");
        if (data.results.length === 1 && !chosen) {
          select.value = String(data.results[0].id);
          showGrades(data.results[0]);
        }
      }).catch(function () { status.textContent = msg("unavailable"); select.innerHTML = allOptions; });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); window.clearTimeout(timer); search(); }
    });
    select.addEventListener("change", loadGrades);
  });
})();
