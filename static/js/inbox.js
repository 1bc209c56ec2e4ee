// The inbox refreshes its rows every 5 s, except while rows are ticked for a bulk decision: the refresh
// would drop the selection. (An htmx trigger filter would say this inline, but filters run through
// eval, which the Content-Security-Policy forbids.)
document.addEventListener("htmx:confirm", function (event) {
  var rows = event.target;
  if (rows.id === "inbox-rows" && rows.querySelector("input[name=ids]:checked")) event.preventDefault();
});
