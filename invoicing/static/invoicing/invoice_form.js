// New-invoice screen: addable lines and a live total computed by the server's amount engine
// (POST /api/invoices/preview). No arithmetic here: the browser only shows what the engine says.
(function () {
  "use strict";
  var form = document.getElementById("invoice-form");
  if (!form) return;
  var tbody = form.querySelector("#lines tbody");
  var template = document.getElementById("line-template");
  var totalForms = form.querySelector("input[name='lines-TOTAL_FORMS']");
  var errorBox = document.getElementById("preview-error");
  var timer = null;
  var sequence = 0;

  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }
  function value(name) { var el = form.querySelector("[name='" + name + "']"); return el ? el.value.trim() : ""; }

  function renumber() {
    var rows = tbody.querySelectorAll("tr.line-row");
    rows.forEach(function (row, index) {
      row.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.name = input.name.replace(/lines-(\d+|__prefix__)-/, "lines-" + index + "-");
        input.id = input.id.replace(/lines-(\d+|__prefix__)-/, "lines-" + index + "-");
      });
    });
    totalForms.value = rows.length;
  }

  function addLine() {
    var fragment = template.content.cloneNode(true);
    tbody.appendChild(fragment);
    renumber();
    var rows = tbody.querySelectorAll("tr.line-row");
    var input = field(rows[rows.length - 1], "description");
    if (input) input.focus();
  }

  function body() {
    var lines = [];
    tbody.querySelectorAll("tr.line-row").forEach(function (row) {
      lines.push({
        description: field(row, "description").value.trim() || "(no description)",
        quantity: field(row, "quantity").value.trim() || "0",
        unit_price: field(row, "unit_price").value.trim() || "0",
        tax_rate: field(row, "tax_rate").value.trim() || "0"
      });
    });
    var data = { lines: lines };
    if (value("currency")) data.currency = value("currency");
    if (value("tenant")) data.tenant = parseInt(value("tenant"), 10);
    var kind = value("discount_kind"), amount = value("discount_value");
    if (kind && amount) { data.discount = {}; data.discount[kind] = amount; }
    if (value("credit")) data.credit = value("credit");
    return data;
  }

  // "80000.00" -> "80,000.00": thousands separators as on every other screen, by string (never a float).
  function grouped(amount) {
    var parts = String(amount).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts.length > 1 ? "." + parts[1] : "");
  }

  function show(result) {
    errorBox.hidden = true;
    form.querySelectorAll("[data-total]").forEach(function (cell) {
      var key = cell.getAttribute("data-total");
      var negative = (key === "discount" || key === "credit_applied") && result[key] !== "0.00";
      cell.textContent = (negative ? "−" : "") + result.currency + " " + grouped(result[key]);  // the engine's decimal string, never a float
    });
    var rows = tbody.querySelectorAll("tr.line-row");
    rows.forEach(function (row, index) {
      var line = result.lines[index];
      ["net", "tax", "total"].forEach(function (key) {
        row.querySelector("[data-line='" + key + "']").textContent = line ? grouped(line[key]) : "—";
      });
    });
  }

  function refresh() {
    var mine = ++sequence;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": value("csrfmiddlewaretoken") },
      body: JSON.stringify(body())
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    }).then(function (answer) {
      if (mine !== sequence) return;  // a newer request is on its way
      if (answer.ok) { show(answer.json); return; }
      var error = answer.json.error || {};
      var details = Object.keys(error.fields || {}).map(function (k) { return k + ": " + error.fields[k].join(" "); }).join("; ");
      errorBox.textContent = (error.message || "Cannot compute the total.") + (details ? " (" + details + ")" : "");
      errorBox.hidden = false;
    }).catch(function () {
      errorBox.textContent = "The live total is unavailable; the figures are computed when you save.";
      errorBox.hidden = false;
    });
  }

  function schedule() { clearTimeout(timer); timer = setTimeout(refresh, 250); }

  document.getElementById("add-line").addEventListener("click", function () { addLine(); schedule(); });
  tbody.addEventListener("click", function (event) {
    if (!event.target.classList.contains("remove-line")) return;
    if (tbody.querySelectorAll("tr.line-row").length <= 1) return;
    event.target.closest("tr").remove();
    renumber();
    schedule();
  });
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (!tbody.querySelector("tr.line-row")) addLine();
  schedule();
})();
