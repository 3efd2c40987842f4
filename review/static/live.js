// Times in the user's own zone, and the live queue (issue 14 item 7): the queue's rows are
// refreshed from GET /api/queue every few seconds with the page's filters, no reload.
// Without JavaScript the page shows UTC times and the Filter button reloads it.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var POLL_MS = 3000;

  function localTime(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) { return iso; }
    return when.toLocaleString(undefined, {year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
  }
  function localiseTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (t) {
      t.textContent = localTime(t.getAttribute("datetime"));
      t.title = t.getAttribute("datetime");
    });
  }
  localiseTimes(document);

  var body = document.getElementById("queue-rows");
  var filters = document.getElementById("queue-filters");
  if (!body || !filters) { return; }
  var live = document.getElementById("queue-live");
  var table = document.getElementById("queue-table");
  var me = ((document.querySelector("header .who") || {}).textContent || "").split(" (")[0];
  var shown = {};  // note id -> status last shown, for the live region

  function query() {
    var params = new URLSearchParams(new FormData(filters));
    params.set("page_no", table.dataset.page || "1");
    return params.toString();
  }
  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = text;
    return td;
  }
  function link(note, text) {
    var td = document.createElement("td");
    var a = document.createElement("a");
    a.href = "/notes/" + note.id;
    a.textContent = text;
    td.appendChild(a);
    return td;
  }
  function assignCell(note) {
    var td = document.createElement("td");
    if (note.assigned_to === me) { return td; }
    var form = document.createElement("form");
    form.method = "post";
    form.action = "/notes/" + note.id + "/assign";
    form.className = "inline assign";
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Assign to me";
    button.setAttribute("aria-label", "Assign to me: note " + note.id);
    form.appendChild(token);
    form.appendChild(button);
    td.appendChild(form);
    return td;
  }
  function row(note) {
    var tr = document.createElement("tr");
    tr.className = "status-" + note.status;
    tr.dataset.noteId = String(note.id);
    var when = document.createElement("time");
    when.setAttribute("datetime", note.submitted_at || "");
    var at = document.createElement("td");
    at.appendChild(when);
    [link(note, String(note.id)), link(note, note.label || "(no label)"),
     cell(note.status_label, "note-status"), cell(String(note.lines), "count-lines"),
     cell(String(note.warnings), "count-warnings"), cell(String(note.open_queries), "count-queries"),
     at, cell(note.submitted_by), cell(note.assigned_to || "", "assignee"), assignCell(note)
    ].forEach(function (td) { tr.appendChild(td); });
    return tr;
  }
  function render(data, quiet) {
    var changed = [];
    var rows = data.notes.map(function (note) {
      var before = shown[note.id];
      if (before === undefined) {
        changed.push("Note " + note.id + " is new: " + note.status_label + ".");
      } else if (before !== note.status) {
        changed.push("Note " + note.id + " is now: " + note.status_label + ".");
      }
      shown[note.id] = note.status;
      return row(note);
    });
    if (!rows.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell("No notes.");
      td.colSpan = 10;
      empty.appendChild(td);
      rows = [empty];
    }
    body.replaceChildren.apply(body, rows);
    localiseTimes(body);
    var heading = document.getElementById("queue-total");
    if (heading) { heading.textContent = String(data.total); }
    if (changed.length && !quiet) { live.textContent = changed.join(" "); }
  }
  function poll() {
    fetch("/api/queue?" + query(), {headers: {"Accept": "application/json"},
                                     credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }
  body.querySelectorAll("tr[data-note-id]").forEach(function (tr) {
    shown[tr.dataset.noteId] = tr.className.replace(/^status-/, "");
  });
  // Filters apply at once (the Filter button still works without JavaScript).
  filters.addEventListener("change", function () {
    table.dataset.page = "1";
    history.replaceState(null, "", "/queue?" + query());
    fetch("/api/queue?" + query(), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data, true); } });
  });
  // "Assign to me" without a reload.
  body.addEventListener("submit", function (event) {
    var form = event.target.closest("form.assign");
    if (!form) { return; }
    event.preventDefault();
    var id = form.closest("tr").dataset.noteId;
    fetch("/api/notes/" + id + "/assign", {method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r); })
      .then(function () {
        live.textContent = "Note " + id + " is assigned to you.";
        var tr = form.closest("tr");
        tr.querySelector(".assignee").textContent = me;
        form.remove();
      })
      .catch(function () { live.textContent = "Note " + id + " could not be assigned."; });
  });
  window.setTimeout(poll, POLL_MS);
}());
