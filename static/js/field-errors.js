/* Filter forms whose results are swapped in by htmx (the costs page, the decision log): the
   form itself is not re-rendered, so that typing and focus survive a change, and the server's
   verdict on each field comes back in a marker inside the swapped results:

     <div hidden data-field-errors-for="FORM-ID" data-fields="since until" data-error-id="ID"></div>

   Each named control gets aria-invalid (and, when data-error-id is given, aria-describedby
   pointing at the message); every other control of the form loses them, so a screen reader
   never hears "invalid" for a field that was just corrected. */
(function () {
  "use strict";

  function apply(marker) {
    var form = document.getElementById(marker.dataset.fieldErrorsFor);
    if (!form) return;
    var invalid = (marker.dataset.fields || "").split(" ").filter(Boolean);
    var errorId = marker.dataset.errorId;
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (control) {
      if (invalid.indexOf(control.name) >= 0) {
        control.setAttribute("aria-invalid", "true");
        if (errorId) control.setAttribute("aria-describedby", errorId);
      } else {
        control.removeAttribute("aria-invalid");
        if (errorId && control.getAttribute("aria-describedby") === errorId) control.removeAttribute("aria-describedby");
      }
    });
  }

  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-field-errors-for]").forEach(apply);
  });
})();
