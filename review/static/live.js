// Times in the user's own zone, and the live queue (issue 14 item 7): the queue's rows are
// refreshed from GET /api/queue with the page's filters, no reload, backing off while
// nothing changes; uploads (note files, zip archives) report each file's result in place.
// Without JavaScript the page shows UTC times, the Filter button reloads it and an upload
// answers with the queue page and its results.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

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

  // --- polling with back-off -------------------------------------------------------------
  // Every 3 s while the queue changes; half as often again after each answer that changed
  // nothing (up to 30 s); paused while the tab is hidden (a check at once when it shows
  // again); after 3 failures in a row it stops and says so, with a Retry button.
  var BASE_MS = 3000, MAX_MS = 30000, GROWTH = 1.5, STOP_AFTER = 3;
  var delay = BASE_MS, failures = 0, timer = null, last = null, checks = 0;
  var stopped = false, quietNext = false;
  var state = document.getElementById("queue-poll");
  var stoppedBox = document.getElementById("queue-stopped");

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = null;
    delay = ms;
    if (stopped || document.hidden) { delete state.dataset.nextMs; return; }
    state.dataset.nextMs = String(Math.round(ms));
    timer = window.setTimeout(poll, Math.round(ms));
  }
  function stop(message) {
    stopped = true;
    schedule(delay);
    stoppedBox.querySelector(".why").textContent = message;
    stoppedBox.hidden = false;
    state.textContent = "Not updating.";
  }
  function answered(text) {
    failures = 0;
    var changed = last !== null && text !== last;
    var first = last === null;
    last = text;
    if (changed || first) { render(JSON.parse(text), quietNext); }
    quietNext = false;
    checks += 1;
    state.dataset.checks = String(checks);
    state.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
    schedule(changed ? BASE_MS : Math.min(delay * GROWTH, MAX_MS));
  }
  function failed(status) {
    failures += 1;
    checks += 1;
    state.dataset.checks = String(checks);
    if (status === 401 || status === 403) {
      stop("Your session has ended: log in again to see the queue update.");
    } else if (failures >= STOP_AFTER) {
      stop("The queue stopped updating: the server did not answer " + failures +
           " times in a row" + (status ? " (HTTP " + status + ")" : "") + ".");
    } else {
      schedule(Math.min(delay * 2, MAX_MS));
    }
  }
  function poll() {
    timer = null;
    fetch("/api/queue?" + query(), {headers: {"Accept": "application/json"},
                                     credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok) { return Promise.reject(r.status); }
        return r.text();
      })
      .then(answered, function (status) { failed(typeof status === "number" ? status : 0); });
  }
  function pollNow() {  // a change made here (filters, an upload), or Retry
    stopped = false;
    failures = 0;
    stoppedBox.hidden = true;
    window.clearTimeout(timer);
    timer = null;
    delay = BASE_MS;
    poll();
  }
  stoppedBox.querySelector("button").addEventListener("click", pollNow);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { schedule(delay); } else if (!stopped) { pollNow(); }
  });

  body.querySelectorAll("tr[data-note-id]").forEach(function (tr) {
    shown[tr.dataset.noteId] = tr.className.replace(/^status-/, "");
  });
  // Filters apply at once (the Filter button still works without JavaScript).
  filters.addEventListener("change", function () {
    table.dataset.page = "1";
    history.replaceState(null, "", "/queue?" + query());
    last = null;
    quietNext = true;  // other rows: drawn quietly, not announced as new
    pollNow();
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
  schedule(BASE_MS);

  // --- uploads: each file's result on this page -----------------------------------------
  var upload = document.getElementById("add-notes");
  var results = document.getElementById("upload-results");
  function showResults(data) {
    var list = results.querySelector("ul.upload-list");
    var items = data.problems.map(function (p) {
      var li = document.createElement("li");
      li.className = "upload-problem";
      var name = document.createElement("strong");
      name.textContent = p.file;
      li.appendChild(name);
      li.appendChild(document.createTextNode(": " + p.message));
      return li;
    }).concat(data.queued.map(function (note) {
      var li = document.createElement("li");
      li.className = "upload-queued";
      var a = document.createElement("a");
      a.href = "/notes/" + note.id;
      a.textContent = note.file;
      li.appendChild(a);
      li.appendChild(document.createTextNode(": queued as note " + note.id));
      return li;
    }));
    list.replaceChildren.apply(list, items);
    results.querySelector(".upload-summary").textContent = data.queued.length +
      " note(s) queued, " + data.problems.length + " file(s) not read.";
    results.hidden = false;
  }
  if (upload) {
    upload.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = upload.querySelector("button[type=submit]");
      button.disabled = true;
      live.textContent = "Uploading ...";
      fetch("/api/uploads", {method: "POST", body: new FormData(upload), credentials: "same-origin",
                             headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}})
        .then(function (r) { return r.json().catch(function () { return {}; }); })
        .then(function (data) {
          if (!Array.isArray(data.queued)) {  // refused as a whole (too large, no file, role)
            live.textContent = "";
            showResults({queued: [], problems: [{file: "Upload", message:
              typeof data.detail === "string" ? data.detail : "The upload was refused."}]});
            return;
          }
          if (data.queued.length === 1 && !data.problems.length) {
            window.location.assign("/notes/" + data.queued[0].id);
            return;
          }
          showResults(data);
          live.textContent = results.querySelector(".upload-summary").textContent;
          if (data.queued.length) { upload.reset(); }
          quietNext = true;  // the summary is what is said; the new rows just appear
          pollNow();
        })
        .catch(function () {
          live.textContent = "";
          showResults({queued: [], problems: [{file: "Upload", message: "The server did not " +
            "answer; check the queue before uploading again."}]});
        })
        .then(function () { button.disabled = false; });
    });
  }
}());
