// The operator's site: live search over /api/search in Material's panel, feedback, flags, script variables,
// copy buttons and deviations. Served as a file: the service's Content-Security-Policy has no unsafe-inline.
(function () {
  "use strict";
  var EN = document.documentElement.lang === "en";
  var T = EN ? {
    results: function (n) { return n === 1 ? "1 result" : n + " results"; },
    none: "No results", unavailable: "Search is unavailable", didYouMean: "Did you mean ",
    kinds: { article: "article", script: "script", procedure: "procedure" },
    choose: "Say whether it helped", badTicket: "The ticket must look like ", sent: "Sent, thank you",
    failed: "Could not send: ", flagged: "Flagged, thank you", recorded: "Deviation recorded",
    copy: "Copy", copied: "Copied", deviation: "Record a deviation", translation: "Translation: ",
    source: "Original: "
  } : {
    results: function (n) { return n === 1 ? "1 resultado" : n + " resultados"; },
    none: "Sin resultados", unavailable: "La búsqueda no está disponible", didYouMean: "¿Quiso decir ",
    kinds: { article: "artículo", script: "guion", procedure: "procedimiento" },
    choose: "Indique si le ha resultado útil", badTicket: "El ticket debe tener la forma ", sent: "Enviado, gracias",
    failed: "No se pudo enviar: ", flagged: "Marcada, gracias", recorded: "Desviación registrada",
    copy: "Copiar", copied: "Copiado", deviation: "Registrar desviación", translation: "Traducción: ",
    source: "Original: "
  };
  var API = "/api/";  // the site and the API share one origin
  // The API gives site paths from the root (/kb/...); this build may live below it (/en/kb/...).
  var rootMeta = document.querySelector('meta[name="kb-root"]');
  var ROOT = new URL((rootMeta ? rootMeta.content : ".") + "/", location.href).pathname;
  function sitePath(url) { return ROOT + url.replace(/^\//, ""); }
  var session = null;

  // --- the session: CSRF token and ticket pattern, asked once ------------------------------------------
  function me() {
    if (!session) {
      session = fetch(API + "me", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
    }
    return session;
  }

  function post(path, body) {
    return me().then(function (info) {
      return fetch(API + path, {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": info.csrf_token || "" },
        body: JSON.stringify(body)
      });
    }).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        return data;
      });
    });
  }

  function checkTicket(input) {
    // Checked here against the configured pattern, and again by the server.
    var value = input.value.trim().toUpperCase();
    input.value = value;
    if (!value) return me().then(function () { return null; });
    return me().then(function (info) {
      var pattern;
      try { pattern = new RegExp(info.ticket_pattern); } catch (e) { return value; }
      if (pattern.test(value)) { input.setCustomValidity(""); return value; }
      input.setCustomValidity(T.badTicket + info.ticket_pattern);
      input.reportValidity();
      throw new Error(T.badTicket + info.ticket_pattern);
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- search ------------------------------------------------------------------------------------------
  function setUpSearch() {
    var q = document.getElementById("kb-q");
    if (!q) return;
    var toggle = document.getElementById("__search"), list = document.getElementById("kb-results");
    var count = document.getElementById("kb-search-count"), suggestion = document.getElementById("kb-search-suggestion");
    var kind = document.getElementById("kb-filter-kind"), lang = document.getElementById("kb-filter-lang");
    var timer = null, inflight = null, active = -1, searchId = null;

    function open() { if (toggle && !toggle.checked) toggle.checked = true; q.setAttribute("aria-expanded", "true"); }
    function close() { if (toggle) toggle.checked = false; q.setAttribute("aria-expanded", "false"); q.blur(); }
    if (toggle) toggle.addEventListener("change", function () { if (toggle.checked) setTimeout(function () { q.focus(); }, 50); });
    q.addEventListener("focus", function () { open(); me().catch(function () {}); });
    q.form.addEventListener("submit", function (e) { e.preventDefault(); choose(active < 0 ? 0 : active); });

    function schedule() { clearTimeout(timer); timer = setTimeout(run, 60); }
    q.addEventListener("input", schedule);
    kind.addEventListener("change", run);
    lang.addEventListener("change", run);

    q.addEventListener("keydown", function (e) {
      var items = list.querySelectorAll(".md-search-result__link");
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!items.length) return;
        active = (active + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items.forEach(function (a, i) { a.classList.toggle("kb-active", i === active); a.setAttribute("aria-selected", String(i === active)); });
        items[active].scrollIntoView({ block: "nearest" });
      } else if (e.key === "Enter") {
        e.preventDefault();
        choose(active < 0 ? 0 : active);
      } else if (e.key === "Escape") {
        close();
      }
    });

    function run() {
      var text = q.value.trim();
      if (text.length < 2) { list.replaceChildren(); count.textContent = ""; suggestion.hidden = true; return; }
      if (inflight) inflight.abort();
      inflight = new AbortController();
      var params = new URLSearchParams({ q: text, limit: "20" });
      if (kind.value) params.set("kind", kind.value);
      if (lang.value) params.set("lang", lang.value);
      var started = performance.now();
      fetch(API + "search?" + params, { credentials: "same-origin", signal: inflight.signal })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) { render(data); document.dispatchEvent(new CustomEvent("kb:results", { detail: { query: text, ms: performance.now() - started } })); })
        .catch(function (err) { if (err.name !== "AbortError") count.textContent = T.unavailable; });
    }

    function render(data) {
      searchId = data.search_id;
      active = -1;
      count.textContent = data.total ? T.results(data.total) : T.none;
      suggestion.replaceChildren();
      suggestion.hidden = !data.suggestion;
      if (data.suggestion) {
        var link = el("a", "kb-suggestion", data.suggestion);
        link.href = "#";
        link.addEventListener("click", function (e) { e.preventDefault(); q.value = data.suggestion; run(); q.focus(); });
        suggestion.append(T.didYouMean, link, "?");
      }
      list.replaceChildren.apply(list, data.results.map(function (hit, i) {
        var item = el("li", "md-search-result__item"), a = el("a", "md-search-result__link");
        a.href = sitePath(hit.url) + (hit.anchor ? "#" + hit.anchor : "");
        a.setAttribute("role", "option");
        a.dataset.id = hit.id;
        a.addEventListener("click", function (e) { e.preventDefault(); choose(i); });
        var article = el("article", "md-search-result__article md-typeset");
        var title = el("h1", null, hit.title);
        var facts = el("nav", "md-tags kb-result-facts");
        facts.append(el("span", "md-tag", T.kinds[hit.kind] || hit.kind), el("span", "md-tag", hit.lang));
        article.append(title, snippet(hit.snippet), facts);
        a.append(article);
        item.append(a);
        return item;
      }));
    }

    function choose(index) {
      var link = list.querySelectorAll(".md-search-result__link")[index];
      if (!link) return;
      var gone = false;
      var go = function () { if (!gone) { gone = true; location.href = link.getAttribute("href"); } };
      if (!searchId) { go(); return; }
      sessionStorage.setItem("kb-search", JSON.stringify({ id: searchId, doc: link.dataset.id }));
      // Say which result was opened (the content-gap report counts searches nobody used), then go;
      // a slow answer never holds the operator for more than 300 ms.
      var timeout = setTimeout(go, 300);
      post("search/" + searchId + "/opened", { document_id: link.dataset.id })
        .catch(function () {}).then(function () { clearTimeout(timeout); go(); });
    }
  }

  function snippet(html) {
    // The API escapes the text and marks matches with <mark>: build nodes, never innerHTML.
    var p = el("p", null), parts = (html || "").split(/(<mark>.*?<\/mark>)/);
    var decode = document.createElement("textarea");
    parts.forEach(function (part) {
      var marked = /^<mark>(.*)<\/mark>$/.exec(part);
      decode.innerHTML = marked ? marked[1] : part;  // a textarea's innerHTML only decodes entities
      if (marked) p.append(el("mark", null, decode.value)); else if (part) p.append(decode.value);
    });
    return p;
  }

  // --- feedback and flags ------------------------------------------------------------------------------
  function lastSearchFor(docId) {
    try {
      var found = JSON.parse(sessionStorage.getItem("kb-search") || "null");
      return found && found.doc === docId ? found.id : null;
    } catch (e) { return null; }
  }

  function setUpFeedback() {
    var form = document.forms.kbfeedback;
    if (!form) return;
    var helpful = null, status = form.querySelector(".kb-status");
    form.querySelectorAll("[data-helpful]").forEach(function (button) {
      button.addEventListener("click", function () {
        helpful = button.dataset.helpful === "true";
        form.querySelectorAll("[data-helpful]").forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); b.classList.toggle("md-button--primary", b === button); });
      });
    });
    form.ticket.addEventListener("input", function () { form.ticket.setCustomValidity(""); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (helpful === null) { status.textContent = T.choose; return; }
      checkTicket(form.ticket).then(function (ticket) {
        var body = { document_id: form.dataset.kbId, helpful: helpful, ticket: ticket,
          outcome: form.outcome.value || null, comment: form.comment.value.trim() || null,
          search_id: lastSearchFor(form.dataset.kbId) };
        return post("feedback", body);
      }).then(function () { status.textContent = T.sent; status.dataset.state = "sent"; })
        .catch(function (err) { status.textContent = T.failed + err.message; status.dataset.state = "error"; });
    });
  }

  function setUpFlag() {
    var form = document.forms.kbflag;
    if (!form) return;
    var status = form.querySelector(".kb-status");
    form.ticket.addEventListener("input", function () { form.ticket.setCustomValidity(""); });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      checkTicket(form.ticket).then(function (ticket) {
        return post("documents/" + encodeURIComponent(form.dataset.kbId) + "/flags",
          { reason: form.reason.value, ticket: ticket, comment: form.comment.value.trim() || null });
      }).then(function () { status.textContent = T.flagged; status.dataset.state = "sent"; })
        .catch(function (err) { status.textContent = T.failed + err.message; status.dataset.state = "error"; });
    });
  }

  // --- the metadata panel: translations and staleness --------------------------------------------------
  function setUpTranslations() {
    var panel = document.querySelector(".kb-meta[data-kb-id]");
    if (!panel) return;
    fetch(API + "documents/" + encodeURIComponent(panel.dataset.kbId), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (!doc) return;
        var holder = panel.querySelector(".kb-translations");
        doc.translations.forEach(function (t) {
          var a = el("a", null, t.title + " (" + t.lang + ")");
          a.href = sitePath(t.url); a.hreflang = t.lang;
          holder.append(" · ", t.source ? T.source : T.translation, a);
        });
        holder.hidden = !doc.translations.length;
        if (doc.translation_stale) {
          panel.querySelector(".kb-translation-stale").hidden = false;
          panel.classList.replace("info", "warning");
        }
      }).catch(function () {});
  }

  // --- chat scripts: variables, copy buttons, deviations -----------------------------------------------
  function setUpScript() {
    var vars = document.forms.kbvars;
    if (!vars) return;
    var content = document.querySelector(".md-content__inner");
    var lines = content.querySelectorAll("blockquote");
    var placeholder = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
    lines.forEach(function (line) {
      var walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT), texts = [];
      while (walker.nextNode()) texts.push(walker.currentNode);
      texts.forEach(function (node) {
        if (!placeholder.test(node.nodeValue)) return;
        placeholder.lastIndex = 0;
        var frag = document.createDocumentFragment(), last = 0, m;
        while ((m = placeholder.exec(node.nodeValue))) {
          frag.append(node.nodeValue.slice(last, m.index));
          var span = el("span", "kb-var", m[0]);
          span.dataset.var = m[1]; span.dataset.placeholder = m[0];
          frag.append(span);
          last = m.index + m[0].length;
        }
        frag.append(node.nodeValue.slice(last));
        node.replaceWith(frag);
      });
      var copy = el("button", "md-button kb-copy", T.copy);
      copy.type = "button";
      copy.addEventListener("click", function () {
        var text = Array.prototype.map.call(line.querySelectorAll("p"), function (p) { return p.textContent.trim(); }).join("\n");
        navigator.clipboard.writeText(text).then(function () {
          copy.textContent = T.copied;
          setTimeout(function () { copy.textContent = T.copy; }, 1500);
        });
      });
      line.append(copy);
    });
    function fill() {
      content.querySelectorAll(".kb-var").forEach(function (span) {
        var input = vars.elements[span.dataset.var];
        var value = input ? input.value.trim() : "";
        span.textContent = value || span.dataset.placeholder;
        span.classList.toggle("kb-var--filled", !!value);
      });
    }
    vars.addEventListener("input", fill);
    vars.addEventListener("submit", function (e) { e.preventDefault(); });

    var form = document.forms.kbdeviation, status = form.querySelector(".kb-status");
    var scriptId = document.querySelector(".kb-meta[data-kb-id]").dataset.kbId;
    content.querySelectorAll("h2[id]").forEach(function (heading) {
      var button = el("button", "md-button kb-deviate", T.deviation);
      button.type = "button";
      button.dataset.step = heading.id;
      button.addEventListener("click", function () {
        form.dataset.step = heading.id;
        form.querySelector(".kb-deviation__step").textContent = heading.textContent.replace(/¶$/, "").trim();
        status.textContent = "";
        button.after(form);
        form.hidden = false;
        if (!form.ticket.value && vars.elements.ticket) form.ticket.value = vars.elements.ticket.value;
        form.justification.focus();
      });
      heading.after(button);
    });
    form.querySelector(".kb-cancel").addEventListener("click", function () { form.hidden = true; });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      checkTicket(form.ticket).then(function (ticket) {
        return post("deviations", { script_id: scriptId, step: form.dataset.step, ticket: ticket,
          justification: form.justification.value.trim() });
      }).then(function () { status.textContent = T.recorded; status.dataset.state = "sent"; form.justification.value = ""; })
        .catch(function (err) { status.textContent = T.failed + err.message; status.dataset.state = "error"; });
    });
  }

  // --- read confirmations: this chapter or script changed since the reader last confirmed it -------------
  function setUpAck() {
    var notice = document.querySelector("[data-kb-ack]");
    if (!notice) return;
    fetch(API + "acks/mine?document=" + encodeURIComponent(notice.dataset.kbAck), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) { notice.hidden = !rows.length; })
      .catch(function () { notice.hidden = true; });
  }

  function start() {
    setUpSearch();
    setUpFeedback();
    setUpFlag();
    setUpTranslations();
    setUpScript();
    setUpAck();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
