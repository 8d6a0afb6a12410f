// Ask before a destructive form is sent: every submit button with the class "danger".
// The question comes from <meta name="confirm-danger">, in the page's language.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || !button.classList.contains("danger")) { return; }

    var meta = document.querySelector('meta[name="confirm-danger"]');
    var question = meta ? meta.content : "";
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
