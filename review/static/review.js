// The review page without page reloads (issue 14 items 2, 3, 5): keys, decisions through
// the JSON API (same CSRF, role and claim-revision checks as the forms), evidence beside
// the claim. Without JavaScript every form still posts and the page reloads.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var review = document.querySelector(".review[data-note-id]");

  // --- evidence highlighting (every page with a note) ---------------------------------
  function marksOf(key) {
    return Array.prototype.filter.call(document.querySelectorAll("mark[data-keys]"), function (m) {
      return m.dataset.keys.split(" ").indexOf(key) >= 0;
    });
  }
  function show(key, on, cls) {
    marksOf(key).forEach(function (m) { m.classList.toggle(cls || "active", on); });
  }
  document.querySelectorAll("li.code-line[data-key]").forEach(function (item) {
    item.addEventListener("mouseenter", function () { show(item.dataset.key, true); });
    item.addEventListener("mouseleave", function () { show(item.dataset.key, false); });
    item.addEventListener("focus", function () { show(item.dataset.key, true); });
    item.addEventListener("blur", function () { show(item.dataset.key, false); });
  });
  if (!review) { return; }

  var noteId = review.dataset.noteId;
  var editable = review.dataset.editable === "yes";
  var pane = document.getElementById("note-pane");
  var live = document.getElementById("live");
  var alertBox = document.getElementById("alert");
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr.code-line")); };
  var selected = null;
  var evidenceAt = 0;
  var claim = null;  // the last claim state the API answered

  function say(text) { live.textContent = text; alertBox.hidden = true; }
  function fail(text) { alertBox.textContent = text; alertBox.hidden = false; live.textContent = ""; }
  function revision() { return parseInt(review.dataset.revision, 10); }
  function setRevision(value) {
    review.dataset.revision = String(value);
    document.querySelectorAll('input[name="revision"]').forEach(function (i) { i.value = String(value); });
  }
  function lineName(row) { return row.dataset.system + " " + row.dataset.code; }

  // The spans of a line: runs of adjacent marks form one span.
  function spansOf(key) {
    var spans = [];
    marksOf(key).forEach(function (m) {
      var last = spans[spans.length - 1];
      if (last && last[last.length - 1].nextSibling === m) { last.push(m); } else { spans.push([m]); }
    });
    return spans;
  }
  function scrollPaneTo(mark) {
    var top = mark.getBoundingClientRect().top - pane.getBoundingClientRect().top;
    pane.scrollTop += top - pane.clientHeight / 3;
  }
  function issueKeys(row) {
    return Array.prototype.map.call(row.querySelectorAll("li.issue[data-mark]"), function (li) { return li.dataset.mark; });
  }
  function highlight(row, on) {
    show(row.dataset.key, on);
    issueKeys(row).forEach(function (k) { show(k, on, "warn-active"); });
  }
  function select(row, scroll) {
    if (selected) { highlight(selected, false); selected.classList.remove("selected"); }
    selected = row;
    evidenceAt = 0;
    if (!row) { return; }
    row.classList.add("selected");
    highlight(row, true);
    if (scroll !== false) { row.scrollIntoView({ block: "nearest" }); }
    var spans = spansOf(row.dataset.key);
    if (!spans.length) { issueKeys(row).some(function (k) { var m = marksOf(k); if (m.length) { spans = [m]; } return m.length; }); }
    if (spans.length) { scrollPaneTo(spans[0][0]); }
  }
  function nextEvidence() {
    if (!selected) { return; }
    var spans = spansOf(selected.dataset.key);
    if (!spans.length) { say(lineName(selected) + " has no evidence in the note."); return; }
    document.querySelectorAll("mark.current").forEach(function (m) { m.classList.remove("current"); });
    evidenceAt = (evidenceAt + 1) % spans.length;
    spans[evidenceAt].forEach(function (m) { m.classList.add("current"); });
    scrollPaneTo(spans[evidenceAt][0]);
    say("Evidence " + (evidenceAt + 1) + " of " + spans.length + " for " + lineName(selected) + ".");
  }
  rows().forEach(function (row) {
    // Hovering previews another line's evidence alone; leaving it shows the selected one again.
    row.addEventListener("mouseenter", function () {
      if (row === selected) { return; }
      if (selected) { highlight(selected, false); }
      show(row.dataset.key, true);
    });
    row.addEventListener("mouseleave", function () {
      if (row === selected) { return; }
      show(row.dataset.key, false);
      if (selected) { highlight(selected, true); }
    });
    row.addEventListener("click", function (event) {
      if (event.target.closest("form, details, button, input, select")) { return; }
      select(row === selected ? null : row, false);
    });
  });

  // --- talking to the JSON API ----------------------------------------------------------
  // Changes go one at a time, each with the claim revision the previous one left, so fast
  // keys never race each other into a stale-claim refusal.
  var pending = Promise.resolve();
  function api(method, path, body) {
    if (method === "GET") { return send(method, path, body); }
    var run = function () { return send(method, path, body); };
    var done = pending.then(run, run);
    pending = done.catch(function () {});
    return done;
  }
  function send(method, path, body) {
    if (body && "revision" in body) { body.revision = revision(); }
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var detail = data.detail;
          if (Array.isArray(detail)) { detail = detail.map(function (d) { return (d.loc || []).slice(1).join(".") + ": " + d.msg; }).join("; "); }
          throw new Error(detail || ("The request failed (" + response.status + ")."));
        }
        return data;
      });
    });
  }
  function rowOf(lineId) { return document.querySelector('tr.code-line[data-line-id="' + lineId + '"]'); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function renderLine(line) {
    var row = rowOf(line.id);
    if (!row) { return; }
    row.className = row.className.replace(/\bline-\S+/g, "").trim() + " line-" + line.status;
    row.dataset.code = line.code;
    row.querySelector("td.code").textContent = line.code;
    if (line.description !== undefined) { row.querySelector("td.desc").textContent = line.description || "(no description)"; }
    if (line.system !== "ICD-10-CM") { row.querySelector("td.units").textContent = line.units === null ? "?" : String(line.units); }
    row.querySelector("td.mods").textContent = (line.modifiers || []).join(" ");
    var status = row.querySelector("td.line-status");
    status.textContent = line.status;
    if (line.change) { status.appendChild(document.createTextNode(" ")); status.appendChild(el("span", "badge change change-" + line.change, line.change)); }
    if (line.reason) { status.appendChild(el("div", "why", line.reason)); }
    if (line.flag) { var flag = el("div", "flag", line.flag); flag.setAttribute("role", "note"); status.appendChild(flag); }
    var why = row.querySelector(".rationale");
    var stale = row.querySelector(".stale-note");
    why.classList.toggle("stale", !!line.rationale_stale);
    if (line.rationale_stale && !stale) {
      stale = el("div", "stale-note");
      stale.setAttribute("role", "note");
      why.after(stale);
    }
    if (stale) {
      if (line.rationale_stale) { stale.textContent = "Rationale is stale: it explains the engine's suggestion (" + line.suggested_as + "), not the edit."; } else { stale.remove(); }
    }
  }
  function ackForm(issue) {
    var button = el("button", "", "Acknowledge");
    button.type = "button";
    button.setAttribute("aria-label", "Acknowledge: " + issue.text.slice(0, 80));
    button.addEventListener("click", function () { acknowledge(issue.key); });
    return button;
  }
  function renderClaim(state) {
    claim = state;
    setRevision(state.revision);
    var status = document.getElementById("note-status");
    if (status) { status.textContent = state.status === "needs-re-review" ? "needs re-review" : state.status; }
    var blockers = document.getElementById("blockers");
    var list = document.getElementById("claim-issues");
    var open = state.issues.filter(function (i) { return !i.acknowledged; });
    if (list) {
      list.textContent = "";
      open.forEach(function (issue) {
        var li = el("li", "issue issue-" + issue.kind, issue.text + " ");
        li.dataset.issueKey = issue.key;
        if (issue.can_acknowledge) { li.appendChild(ackForm(issue)); }
        list.appendChild(li);
      });
      document.getElementById("blocking-count").textContent = String(open.length);
      blockers.hidden = open.length === 0;
    }
    state.issues.forEach(function (issue) {
      document.querySelectorAll('ul.line-issues li[data-issue-key="' + issue.key + '"]').forEach(function (li) {
        li.classList.toggle("acknowledged", issue.acknowledged);
        var em = li.querySelector("em");
        if (issue.acknowledged && !em) { li.appendChild(document.createTextNode(" ")); li.appendChild(el("em", "", "(acknowledged)")); }
      });
    });
  }
  function nextOpenRow(from) {
    var all = rows();
    var start = from ? all.indexOf(from) : -1;
    for (var n = 1; n <= all.length; n++) {
      var row = all[(start + n) % all.length];
      if (row.classList.contains("line-suggested")) { return row; }
    }
    return null;
  }
  function decide(row, body) {
    body.revision = revision();
    return api("POST", "/api/lines/" + row.dataset.lineId, body).then(function (line) {
      renderLine(line);
      renderClaim(line.claim);
      say(lineName(row) + " " + line.status + "." + (line.claim.open_lines ? " " + line.claim.open_lines + " line(s) left." : " Every line decided."));
      return line;
    }).catch(function (error) { fail(error.message); throw error; });
  }
  function accept(row) {
    return decide(row, { action: "accept" }).then(function () {
      var next = nextOpenRow(row);
      if (next) { select(next); }
    }, function () {});
  }
  function acknowledge(key) {
    return api("POST", "/api/notes/" + noteId + "/acknowledge", { key: key, revision: revision() }).then(function (data) {
      renderClaim(data.claim);
      say("Acknowledged: " + data.issue.text);
    }).catch(function (error) { fail(error.message); });
  }
  function acknowledgeNext() {
    var open = (claim ? claim.issues : []).filter(function (i) { return !i.acknowledged && i.can_acknowledge && !i.line_id; });
    if (!claim) {
      var li = document.querySelector('#claim-issues li.issue[data-line-id=""]');
      if (li) { open = [{ key: li.dataset.issueKey }]; }
    }
    if (!open.length) { say("No warning or query left to acknowledge."); return; }
    acknowledge(open[0].key);
  }
  function acceptRemaining() {
    return api("POST", "/api/notes/" + noteId + "/accept-remaining", { revision: revision() }).then(function (data) {
      data.accepted.forEach(renderLine);
      renderClaim(data.claim);
      say(data.accepted.length + " line(s) accepted." + (data.left ? " " + data.left + " line(s) with warnings left for you to decide." : ""));
      var next = nextOpenRow(selected);
      if (next) { select(next); }
    }).catch(function (error) { fail(error.message); });
  }
  function goNext() {
    return api("GET", "/api/notes/" + noteId + "/next").then(function (data) {
      window.location.assign(data.id ? "/notes/" + data.id : "/queue");
    }).catch(function (error) { fail(error.message); });
  }
  function finalise() {
    return api("POST", "/api/notes/" + noteId + "/finalise", { revision: revision() }).then(function () {
      say("Claim finalised.");
      return goNext();
    }).catch(function (error) { fail(error.message); });
  }
  function askReason(row) {
    var dialog = document.getElementById("reason-dialog");
    var input = document.getElementById("reason-input");
    dialog.querySelector(".what").textContent = lineName(row);
    input.value = "";
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
    dialog.onclose = function () {
      if (dialog.returnValue === "ok" && input.value.trim()) {
        decide(row, { action: "reject", reason: input.value }).then(function () {
          var next = nextOpenRow(row);
          if (next) { select(next); } else { row.focus(); }
        }, function () {});
      }
    };
  }
  function openEdit(row) {
    var details = row.querySelector("details.edit");
    if (!details) { return; }
    details.open = true;
    var units = details.querySelector('input[name="units"]');
    (row.dataset.system === "ICD-10-CM" ? details.querySelector('input[name="code"]') : units).select();
  }

  // --- the forms, sent through the API when JavaScript runs ----------------------------
  function field(form, name) { var f = form.elements[name]; return f ? f.value : ""; }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var row = form.closest("tr.code-line");
    if (form.matches("form.decide") && row) {
      event.preventDefault(); accept(row);
    } else if (form.matches("form.edit") && row) {
      event.preventDefault();
      var body = { action: "edit", code: field(form, "code"), units: field(form, "units"),
        modifiers: field(form, "modifiers").split(/[\s,]+/).filter(Boolean), reason: field(form, "reason"),
        confirm_unknown: form.elements.confirm_unknown.checked };
      decide(row, body).then(function () { form.closest("details").open = false; row.focus(); }, function () {});
    } else if (form.matches("form.reject") && row) {
      event.preventDefault();
      decide(row, { action: "reject", reason: field(form, "reason") }).then(function () { form.closest("details").open = false; }, function () {});
    } else if (form.matches("form.ack")) {
      event.preventDefault(); acknowledge(field(form, "key"));
    } else if (form.matches("form.accept-remaining")) {
      event.preventDefault(); acceptRemaining();
    } else if (form.matches("form.finalise")) {
      event.preventDefault(); finalise();
    } else if (form.matches("form.add")) {
      event.preventDefault(); addLine(form);
    }
  });

  // --- adding a code, with the note text selected as its evidence ---------------------
  var note = document.getElementById("note");
  function offsetIn(container, node, offset) {
    var walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    var total = 0;
    while (walker.nextNode()) {
      if (walker.currentNode === node) { return total + offset; }
      total += walker.currentNode.nodeValue.length;
    }
    return null;
  }
  function selectedSpan() {
    var sel = window.getSelection();
    if (!sel || sel.isCollapsed || !note) { return null; }
    var range = sel.getRangeAt(0);
    if (!note.contains(range.startContainer) || !note.contains(range.endContainer)) { return null; }
    var start = offsetIn(note, range.startContainer, range.startOffset);
    var end = offsetIn(note, range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) { return null; }
    return { start: start, end: end, text: note.textContent.slice(start, end) };
  }
  function codeWithSelection() {
    var span = selectedSpan();
    var details = document.getElementById("add-code");
    if (!span || !details) { say("Select text in the note first, then press c."); return; }
    var form = details.querySelector("form.add");
    form.elements.evidence.value = JSON.stringify([{ start: span.start, end: span.end }]);
    var quote = form.querySelector(".evidence-quote");
    quote.textContent = "Evidence: “" + span.text + "”";
    quote.hidden = false;
    if (!form.elements.reason.value) { form.elements.reason.value = "Documented: " + span.text.slice(0, 80); }
    details.open = true;
    form.elements.code.focus();
  }
  function addLine(form) {
    var evidence = form.elements.evidence.value ? JSON.parse(form.elements.evidence.value) : [];
    api("POST", "/api/notes/" + noteId + "/lines", {
      system: field(form, "system"), code: field(form, "code"), units: field(form, "units") || null,
      modifiers: field(form, "modifiers").split(/[\s,]+/).filter(Boolean), reason: field(form, "reason"),
      confirm_unknown: form.elements.confirm_unknown.checked, evidence: evidence, revision: revision()
    }).then(function () {
      window.location.reload();  // a new row and new marks: the page draws them
    }).catch(function (error) { fail(error.message); });
  }

  // --- code look-up (type-ahead) --------------------------------------------------------
  var options = document.getElementById("code-options");
  var lookupTimer = null;
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches('input[name="code"]')) { return; }
    var form = input.form;
    var system = input.dataset.system || field(form, "system");
    clearTimeout(lookupTimer);
    lookupTimer = setTimeout(function () {
      if (input.value.trim().length < 2) { return; }
      api("GET", "/api/codes?system=" + encodeURIComponent(system) + "&q=" + encodeURIComponent(input.value)).then(function (found) {
        options.textContent = "";
        found.forEach(function (item) {
          var option = el("option");
          option.value = item.code;
          option.label = item.description;
          options.appendChild(option);
        });
        var exact = found.filter(function (item) { return item.code === input.value.trim().toUpperCase(); })[0];
        var desc = form.querySelector(".code-desc");
        if (desc) { desc.textContent = exact ? exact.description : ""; }
      }).catch(function () {});
    }, 120);
  });

  // --- keys -----------------------------------------------------------------------------
  var help = document.getElementById("keys-help");
  document.getElementById("show-keys") && document.getElementById("show-keys").addEventListener("click", function () { help.showModal(); });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target.closest("input, textarea, select, dialog[open]")) { return; }
    var key = event.key;
    var all = rows();
    var handled = true;
    if (key === "?") { help.open ? help.close() : help.showModal(); }
    else if (key === "j" || key === "k") {
      var at = selected ? all.indexOf(selected) : -1;
      var to = key === "j" ? Math.min(at + 1, all.length - 1) : Math.max(at - 1, 0);
      if (all[to]) { select(all[to]); }
    } else if (key === "n") { goNext(); }
    else if (key === "." && selected) { nextEvidence(); }
    else if (!editable) { handled = false; }
    else if (key === "a" && selected) { accept(selected); }
    else if (key === "r" && selected) { askReason(selected); }
    else if (key === "e" && selected) { openEdit(selected); }
    else if (key === "A") { acceptRemaining(); }
    else if (key === "w") { acknowledgeNext(); }
    else if (key === "f") { finalise(); }
    else if (key === "c") { codeWithSelection(); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  var first = nextOpenRow(null) || rows()[0];
  if (first) { select(first, false); }
})();
