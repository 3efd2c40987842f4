// Hovering or selecting a code line highlights its evidence spans in the note.
(function () {
  function show(key, on) {
    document.querySelectorAll("mark[data-keys]").forEach(function (mark) {
      if (mark.dataset.keys.split(" ").indexOf(key) >= 0) { mark.classList.toggle("active", on); }
    });
  }
  document.querySelectorAll(".code-line[data-key]").forEach(function (row) {
    var key = row.dataset.key;
    row.addEventListener("mouseenter", function () { show(key, true); });
    row.addEventListener("mouseleave", function () { if (!row.classList.contains("selected")) { show(key, false); } });
    row.addEventListener("click", function (event) {
      if (event.target.closest("form, details, button, input, select")) { return; }
      var selected = !row.classList.contains("selected");
      document.querySelectorAll(".code-line.selected").forEach(function (other) {
        other.classList.remove("selected"); show(other.dataset.key, false);
      });
      row.classList.toggle("selected", selected);
      show(key, selected);
    });
    row.addEventListener("focus", function () { show(key, true); });
    row.addEventListener("blur", function () { if (!row.classList.contains("selected")) { show(key, false); } });
  });
})();
