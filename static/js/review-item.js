/* The inbox item page (templates/review/item.html). */
(function () {
  "use strict";

  // Highlight edited fields as the reviewer types (the server highlights them too after a refusal).
  // Delegated to the document, so an edit card swapped in later by the status poll behaves the same.
  function mark(event) {
    var input = event.target;
    if (!input.matches || !input.matches(".edit-form [data-original]")) return;
    var now = input.type === "checkbox" ? (input.checked ? "1" : "0") : input.value.replace(/\r\n/g, "\n");
    input.closest(".edit-field").classList.toggle("changed", now !== input.dataset.original);
  }
  document.addEventListener("input", mark);
  document.addEventListener("change", mark);

  // The status poll swaps the decision panels when someone else decides or claims the item. What this
  // reviewer had typed there must not vanish with them: it goes back into the same field when the new
  // panel still has it, and is otherwise shown under "What you typed was not sent" to be copied.
  var TYPED = "#item-side textarea, #item-edit textarea, #item-edit input[type=text], #item-edit input[type=number], " +
              "#item-edit input[type=date], #item-edit select";
  var typed = null;

  function isStatusSwap(event) {
    var target = event.detail && event.detail.target;
    return target && target.id === "item-status";
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isStatusSwap(event)) return;
    typed = [];
    document.querySelectorAll(TYPED).forEach(function (field) {
      // Typed means changed from what the gate proposed (an argument's data-original) or from empty:
      // not from the field's default, which after a refused decision is the text shown back.
      var pristine = field.dataset.original !== undefined ? field.dataset.original : "";
      if (field.value.replace(/\r\n/g, "\n") === pristine) return;
      var label = document.querySelector("label[for='" + field.id + "']");
      typed.push({field: field, id: field.id, value: field.value,
                  label: label ? label.firstChild.textContent.trim() : field.name});
    });
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!isStatusSwap(event) || !typed) return;
    var lost = [];
    typed.forEach(function (entry) {
      var now = document.getElementById(entry.id);
      if (now === entry.field) return; // not swapped
      if (now) {
        now.value = entry.value;
        now.dispatchEvent(new Event("input", {bubbles: true}));
      } else {
        lost.push(entry);
      }
    });
    typed = null;
    if (lost.length) showUnsent(lost);
  });

  function showUnsent(lost) {
    var box = document.createElement("div");
    box.className = "unsent-live";
    box.setAttribute("role", "alert");
    box.dataset.testid = "unsent-input";
    var title = document.createElement("strong");
    title.textContent = "What you typed was not sent";
    box.appendChild(title);
    var list = document.createElement("dl");
    lost.forEach(function (entry) {
      var dt = document.createElement("dt");
      dt.textContent = entry.label;
      var dd = document.createElement("dd");
      var pre = document.createElement("pre");
      pre.className = "arg-text";
      pre.textContent = entry.value; // text, never markup
      dd.appendChild(pre);
      list.appendChild(dt);
      list.appendChild(dd);
    });
    box.appendChild(list);
    document.querySelector(".decide-panel").appendChild(box);
  }
})();
