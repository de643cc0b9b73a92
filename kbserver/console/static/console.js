// The console's editor: live preview and lint findings beside the text, from /api/content/check.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  if (!form) return;
  var source = form.elements.text, lint = document.getElementById("lint"), preview = document.getElementById("preview");
  var csrf = form.elements.csrf_token.value, timer = null, inflight = null;
  var EN = document.documentElement.lang === "en";

  function check() {
    if (inflight) inflight.abort();
    inflight = new AbortController();
    fetch(form.dataset.check, {
      method: "POST", credentials: "same-origin", signal: inflight.signal,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ path: form.elements.path.value, text: source.value })
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        lint.replaceChildren();
        if (!res.ok) { lint.append(line("error", res.data.error ? res.data.error.message : "error")); return; }
        var data = res.data;
        if (!data.findings.length) lint.append(line("ok", EN ? "No lint findings" : "Sin avisos de lint"));
        data.findings.forEach(function (f) {
          lint.append(line(f.severity, f.line + ": " + f.rule + ": " + f.message));
        });
        lint.dataset.errors = String(data.errors);
        // The server renders with the site's renderer and escapes raw HTML, so its output is safe to insert.
        preview.innerHTML = data.html;
      }).catch(function (err) { if (err.name !== "AbortError") lint.replaceChildren(line("error", String(err))); });
  }

  function line(kind, text) {
    var p = document.createElement("p");
    p.className = "finding finding-" + kind;
    p.textContent = text;
    return p;
  }

  source.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 250); });
  check();
})();
