// Operator charts: success % and p95 latency per minute, from the page's #history-data JSON.
// The numbers are in the table above; the charts only add the trend, so no JS means no chart, nothing lost.
(function () {
  const source = document.getElementById("history-data");
  if (!source || typeof Chart === "undefined") return;
  const history = JSON.parse(source.textContent) || {};
  document.querySelectorAll("canvas[data-instance]").forEach((canvas) => {
    const series = history[canvas.dataset.instance];
    if (!series || !series.t.length) {
      canvas.replaceWith(Object.assign(document.createElement("p"), {className: "muted", textContent: "No checks recorded in the last hour."}));
      return;
    }
    new Chart(canvas, {
      type: "line",
      data: {
        labels: series.t,
        datasets: [
          {label: "success %", data: series.ok, borderColor: "#1d7a46", yAxisID: "ok", pointRadius: 2, spanGaps: true},
          {label: "p95 ms", data: series.p95, borderColor: "#2457c5", yAxisID: "ms", pointRadius: 2, spanGaps: true},
        ],
      },
      options: {
        animation: false,
        responsive: true,
        interaction: {mode: "index", intersect: false},
        scales: {
          ok: {type: "linear", position: "left", min: 0, max: 100},
          ms: {type: "linear", position: "right", beginAtZero: true, grid: {drawOnChartArea: false}},
        },
      },
    });
  });
})();
