(function () {
  "use strict";
  var table = document.getElementById("samples");
  var body = table.tBodies[0];
  var filter = document.getElementById("filter");
  var statusFilter = document.getElementById("status-filter");
  var familyFilter = document.getElementById("family-filter");
  var shown = document.getElementById("shown-count");
  var buttons = table.tHead.querySelectorAll("button[data-column]");

  Array.prototype.forEach.call(body.rows, function (row, position) { row.dataset.order = String(position); });

  function key(row, column, numeric) {
    var cell = row.cells[column];
    var raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
    if (!numeric) { return raw.toLowerCase(); }
    var value = parseFloat(raw);
    return isNaN(value) ? null : value;
  }

  function sortBy(button) {
    var column = Number(button.dataset.column);
    var numeric = button.dataset.type === "number";
    var heading = button.parentElement;
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(buttons, function (other) { other.parentElement.removeAttribute("aria-sort"); });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column, numeric);
      var y = key(b, column, numeric);
      if (x === null || y === null) {
        if (x === y) { return Number(a.dataset.order) - Number(b.dataset.order); }
        return x === null ? 1 : -1;
      }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      if (order === 0) { return Number(a.dataset.order) - Number(b.dataset.order); }
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var status = statusFilter.value;
    var family = familyFilter ? familyFilter.value : "";
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.textContent.toLowerCase();
      var match = (status === "" || row.dataset.status === status) &&
        (family === "" || row.dataset.family === family) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !match;
      if (match) { count += 1; }
    });
    shown.textContent = String(count);
  }

  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () { sortBy(button); });
  });
  filter.addEventListener("input", applyFilter);
  statusFilter.addEventListener("change", applyFilter);
  if (familyFilter) { familyFilter.addEventListener("change", applyFilter); }
})();
