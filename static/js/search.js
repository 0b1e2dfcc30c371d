// Suggestions as you type (titles, tags, glossary terms) in the search box's datalist.
// The page works without this script; it only adds the list.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("q-suggestions");
  if (!input || !list || !window.fetch) { return; }
  var timer = null;
  var latest = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var text = input.value.trim();
      if (text.length < 2) { list.replaceChildren(); return; }
      var ticket = ++latest;
      fetch(input.dataset.suggestUrl + "?q=" + encodeURIComponent(text),
            { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { suggestions: [] }; })
        .then(function (body) {
          if (ticket !== latest) { return; }  // an older answer arriving late
          list.replaceChildren.apply(list, body.suggestions.map(function (item) {
            var option = document.createElement("option");
            option.value = item.text;  // text, never HTML
            return option;
          }));
        })
        .catch(function () { /* suggestions are a convenience: stay quiet */ });
    }, 150);
  });
})();

// The filters: one folded "Filters" control at the top on a phone, an open column on a wide
// screen (the page is served with them open, which is also what a reader without scripts gets).
(function () {
  "use strict";
  var panel = document.querySelector("[data-filter-panel]");
  if (!panel || !window.matchMedia) { return; }
  var narrow = window.matchMedia("(max-width: 48rem)");
  function fit() { panel.open = !narrow.matches; }
  fit();
  if (narrow.addEventListener) { narrow.addEventListener("change", fit); }
})();
