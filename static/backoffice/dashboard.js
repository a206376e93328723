/* The back-office dashboard's charts (Chart.js, served from static/backoffice/vendor).
   Data comes from the page (json_script "dashboard-data"); amounts arrive as strings and are turned
   into numbers here only to draw them. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.days;
  var charts = {};

  function numbers(values) { return values.map(function (v) { return Number(v); }); }

  function draw(id, config) {
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts[id] = new Chart(document.getElementById(id), config);
  }

  function fillSelect(select, names, onChange) {
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name; option.textContent = name; select.appendChild(option);
    });
    select.addEventListener("change", function () { onChange(select.value); });
    if (names.length) { onChange(names[0]); } else { select.disabled = true; onChange(null); }
  }

  draw("chart-users", {
    type: "line",
    data: { labels: labels, datasets: [
      { label: "Registrations", data: data.users.registrations },
      { label: "Logins", data: data.users.logins },
      { label: "KYC submitted", data: data.users.kyc_submitted },
      { label: "KYC approved", data: data.users.kyc_approved }
    ] },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });

  fillSelect(document.getElementById("token-select"), Object.keys(data.tokens), function (token) {
    var row = token ? data.tokens[token] : null;
    draw("chart-funding", {
      type: "bar",
      data: { labels: labels, datasets: row ? [
        { label: "Deposited (" + token + ")", data: numbers(row.deposit_amount) },
        { label: "Withdrawn (" + token + ")", data: numbers(row.withdrawal_amount) }
      ] : [] },
      options: { scales: { y: { beginAtZero: true } } }
    });
  });

  fillSelect(document.getElementById("symbol-select"), Object.keys(data.symbols), function (symbol) {
    var row = symbol ? data.symbols[symbol] : null;
    draw("chart-trading", {
      type: "bar",
      data: { labels: labels, datasets: row ? [
        { label: "Volume (quote)", data: numbers(row.trade_amount), yAxisID: "y" },
        { label: "Fees (quote)", data: numbers(row.fee_quote), type: "line", yAxisID: "y1" }
      ] : [] },
      options: { scales: {
        y: { beginAtZero: true, position: "left" },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } }
      } }
    });
  });
})();
