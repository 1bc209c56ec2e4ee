// Draws the plotly figures the server embedded as JSON data blocks (audit/plot_embed.py): the pages'
// Content-Security-Policy forbids inline scripts, so no figure carries its own Plotly.newPlot call.
(function () {
  function draw(root) {
    root.querySelectorAll('script[type="application/json"][data-plot-for]').forEach(function (block) {
      var div = document.getElementById(block.dataset.plotFor);
      if (!div || div.classList.contains("js-plotly-plot") || !window.Plotly) return;
      var spec = JSON.parse(block.textContent);
      Plotly.newPlot(div, spec.figure.data, spec.figure.layout, spec.config);
    });
  }
  htmx.onLoad(draw);
  // A plot keeps a window resize listener until purged: purge the plots a swap is about to replace,
  // or every replaced chart (the polled pages replace theirs every few seconds) would stay alive.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.shouldSwap || !window.Plotly) return;
    event.detail.target.querySelectorAll(".js-plotly-plot").forEach(function (plot) { Plotly.purge(plot); });
  });
})();
