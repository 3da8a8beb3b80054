// Small behaviour of console pages, attached here because the Content-Security-Policy allows
// no inline handlers: confirmation of corrections that tell phones, and focus after htmx swaps.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.dataset ? form.dataset.confirm : null;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A filter change replaces the results; tell screen-reader users where they went.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "case-results") {
      target.setAttribute("tabindex", "-1");
    }
  });
})();
