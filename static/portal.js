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

  // Keyboard: "/" focuses search, Escape closes dropdowns / cancels a confirmation page.
  document.addEventListener("keydown", function (e) {
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
})();
