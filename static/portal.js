/* Keywarden admin portal — progressive enhancement only; every page works without it. */
(function () {
  "use strict";

  var DROPDOWNS = "details.menu[open], details.popover[open]";

  function closeDropdowns(except) {
    document.querySelectorAll(DROPDOWNS).forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // Keyboard: Ctrl/Cmd+K opens the global search, "/" focuses the page's search,
  // Escape closes dropdowns / cancels a confirmation page.
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K")) {
      var box = document.getElementById("global-search-input");
      if (box) { e.preventDefault(); box.focus(); box.select(); }
      return;
    }
    if (e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e.target)) {
      var search = document.getElementById("search");
      if (search) { e.preventDefault(); search.focus(); }
    } else if (e.key === "Escape") {
      closeDropdowns(null);
      var backdrop = document.querySelector(".modal-backdrop[data-cancel]");
      if (backdrop) window.location.href = backdrop.getAttribute("data-cancel");
    }
  });

  // Click outside an open dropdown closes it; copy buttons are handled by delegation.
  document.addEventListener("click", function (e) {
    document.querySelectorAll(DROPDOWNS).forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });

    // The error page's "Go back": the previous page when there is one, else its href
    // (a real link: the content policy blocks javascript: URLs).
    var back = e.target.closest ? e.target.closest("a[data-back]") : null;
    if (back && window.history.length > 1) {
      e.preventDefault();
      window.history.back();
      return;
    }

    var btn = e.target.closest ? e.target.closest("button[data-copy]") : null;
    if (!btn) return;
    e.preventDefault();
    var src = document.querySelector(btn.dataset.copy);
    if (!src) return;
    var text = src.textContent.trim();
    var done = function () {
      if (!btn.dataset.label) btn.dataset.label = btn.textContent;
      btn.textContent = "Copied";
      btn.setAttribute("data-copied", text.length);
      clearTimeout(btn._copyTimer);
      btn._copyTimer = setTimeout(function () { btn.textContent = btn.dataset.label; }, 1500);
    };
    // Older browsers and non-secure origins have no async clipboard: copy from a
    // temporary text area instead.
    var fallback = function () {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
      document.body.removeChild(ta);
      if (ok) done();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  });

  // Opening one dropdown closes the others ("toggle" does not bubble, so capture it).
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.open && d.matches && d.matches("details.menu, details.popover")) closeDropdowns(d);
  }, true);

  // Job progress pages: poll by reloading while the server says the job is running.
  if (document.querySelector('meta[name="refresh-while-running"]')) {
    setTimeout(function () { window.location.reload(); }, 1500);
  }

  // Global search: live hits under the box (the form itself works without script).
  var gsInput = document.getElementById("global-search-input");
  var gsHits = document.getElementById("global-search-hits");
  if (gsInput && gsHits && window.fetch) {
    var gsTimer = null, gsSeq = 0, gsActive = -1;
    var gsLinks = function () { return gsHits.querySelectorAll("a"); };
    var gsMark = function (i) {
      var links = gsLinks();
      links.forEach(function (a, j) { a.classList.toggle("active", j === i); });
      gsActive = i;
    };
    var gsClose = function () { gsHits.hidden = true; gsActive = -1; };
    var gsRender = function (data) {
      gsHits.textContent = "";
      var groups = [["License keys", data.licenses], ["Customers", data.customers], ["Products", data.products]];
      var any = false;
      groups.forEach(function (g) {
        if (!g[1] || !g[1].length) return;
        any = true;
        var h = document.createElement("div");
        h.className = "hits-label";
        h.textContent = g[0];
        gsHits.appendChild(h);
        g[1].forEach(function (hit) {
          var a = document.createElement("a");
          a.href = hit.url;
          var t = document.createElement("strong");
          t.textContent = hit.title;
          var d = document.createElement("span");
          d.className = "muted";
          d.textContent = " " + hit.detail;
          a.appendChild(t);
          a.appendChild(d);
          gsHits.appendChild(a);
        });
      });
      if (!any) {
        var none = document.createElement("div");
        none.className = "muted hits-none";
        none.textContent = "No matches";
        gsHits.appendChild(none);
      }
      gsHits.hidden = false;
      gsActive = -1;
    };
    gsInput.addEventListener("input", function () {
      clearTimeout(gsTimer);
      var q = gsInput.value.trim();
      if (q.length < 2) { gsClose(); return; }
      gsTimer = setTimeout(function () {
        var seq = ++gsSeq;
        fetch(gsInput.dataset.json + "&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && seq === gsSeq) gsRender(data); })
          .catch(function () {});
      }, 150);
    });
    gsInput.addEventListener("keydown", function (e) {
      var links = gsLinks();
      if (e.key === "ArrowDown" && links.length) {
        e.preventDefault(); gsMark(Math.min(gsActive + 1, links.length - 1));
      } else if (e.key === "ArrowUp" && links.length) {
        e.preventDefault(); gsMark(Math.max(gsActive - 1, 0));
      } else if (e.key === "Enter" && gsActive >= 0 && links[gsActive]) {
        e.preventDefault(); window.location.href = links[gsActive].href;
      } else if (e.key === "Escape") {
        gsClose(); gsInput.blur();
      }
    });
    document.addEventListener("click", function (e) {
      if (!gsHits.contains(e.target) && e.target !== gsInput) gsClose();
    });
  }

  // License Keys: a box in the header ticks every row of the page (the rows'
  // own boxes work without script).
  var selectPage = document.getElementById("select-page");
  if (selectPage) {
    selectPage.hidden = false;
    var rowBoxes = function () { return document.querySelectorAll('input[type=checkbox][form="bulk-form"]'); };
    selectPage.addEventListener("change", function () {
      rowBoxes().forEach(function (b) { b.checked = selectPage.checked; });
    });
  }

  // Customer picker: a search box beside the customer select that finds any of
  // the customers (the select itself only holds the chosen one), so the page
  // stays small however many customers there are.
  var pickFind = document.getElementById("customer_find");
  var pickSelect = document.getElementById("customer_id");
  var pickList = document.getElementById("customer_found");
  if (pickFind && pickSelect && pickList && window.fetch) {
    pickFind.parentNode.hidden = false;
    var pickTimer = null, pickSeq = 0;
    var choose = function (id, label) {
      var opt = Array.prototype.find.call(pickSelect.options, function (o) { return o.value === id; });
      if (!opt) { opt = new Option(label, id); pickSelect.appendChild(opt); }
      pickSelect.value = id;
      pickFind.value = "";
      pickList.hidden = true;
      pickSelect.dispatchEvent(new Event("change", { bubbles: true }));
    };
    var pickRender = function (choices) {
      pickList.textContent = "";
      choices.forEach(function (c) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "picker-choice";
        b.setAttribute("role", "option");
        b.dataset.id = c.id;
        b.textContent = c.label;
        b.addEventListener("click", function () { choose(c.id, c.label); });
        pickList.appendChild(b);
      });
      if (!choices.length) {
        var none = document.createElement("div");
        none.className = "muted hits-none";
        none.textContent = "No customer matches; type their email below to create one.";
        pickList.appendChild(none);
      }
      pickList.hidden = false;
    };
    pickFind.addEventListener("input", function () {
      clearTimeout(pickTimer);
      var q = pickFind.value.trim();
      if (q.length < 2) { pickList.hidden = true; return; }
      pickTimer = setTimeout(function () {
        var seq = ++pickSeq;
        fetch(pickFind.dataset.json + "&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { if (data && seq === pickSeq) pickRender(data); })
          .catch(function () {});
      }, 150);
    });
    pickFind.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        var first = pickList.querySelector("button.picker-choice");
        if (first && !pickList.hidden) first.click();
      } else if (e.key === "Escape") {
        pickList.hidden = true;
      }
    });
  }
})();
