// The language form's hidden "next" field contains the address the page was loaded with, but htmx
// pushes a new address each time the filters change. Send the current address instead, so the
// page comes back in the other language with the same filters.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form.language-switch")) { return; }
    var next = form.querySelector('input[name="next"]');
    if (next) {
      next.value = window.location.pathname + window.location.search;
    }
  });
})();
