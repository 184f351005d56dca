// The dashboard's charts (/console/stats), drawn with Chart.js from the
// figures the page carries as JSON (#stats-charts), labels already in the
// staff member's language. The same figures are in the page's tables.
"use strict";

(function () {
  const source = document.getElementById("stats-charts");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const charts = JSON.parse(source.textContent);
  const colours = ["#0b57a4", "#2f855a", "#b7791f", "#9b1c1c", "#6b46c1", "#52606d"];

  function draw(id, kind, figures, options) {
    const canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    const datasets = figures.datasets.map(function (set, index) {
      return Object.assign({}, set, {
        backgroundColor: colours[index % colours.length],
        borderColor: colours[index % colours.length],
      });
    });
    const chart = new Chart(canvas, {
      type: kind,
      data: { labels: figures.labels, datasets: datasets },
      options: Object.assign(
        {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: datasets.length > 1 } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
        options || {}
      ),
    });
    canvas.dataset.drawn = "true";
    return chart;
  }

  draw("chart-series", "bar", charts.series);
  draw("chart-intents", "bar", charts.intents, {
    indexAxis: "y",
    scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
  });
  draw("chart-languages", "bar", charts.languages);
  draw("chart-channels", "bar", charts.channels);
})();
