/* The start page: picking a workflow shows its input's fields beside the input box, and puts its
   example input (and its required labels) into the boxes while they still hold the previous pick's
   example untouched; what someone typed is never replaced. Without JavaScript the form still starts
   the run picked; the fields shown are those of the workflow the page was opened with. */
(function () {
  "use strict";

  var form = document.querySelector("form.start-form");
  if (!form) return;
  var input = form.querySelector("textarea[name=input]");
  var labels = form.querySelector("textarea[name=labels]");

  function untouched(box, previous) {
    var text = box.value.trim();
    return text === "" || text === "{}" || text === (previous || "").trim();
  }

  var picked = form.querySelector("input[name=workflow]:checked");
  form.querySelectorAll("input[name=workflow]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (untouched(input, picked && picked.dataset.example)) input.value = radio.dataset.example;
      if (untouched(labels, picked && picked.dataset.labels)) labels.value = radio.dataset.labels;
      form.querySelectorAll("[data-schema-for]").forEach(function (card) {
        card.hidden = card.dataset.schemaFor !== radio.value;
      });
      picked = radio;
    });
  });
})();
