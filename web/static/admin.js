// ssogate admin console: one-click copy buttons. Loaded as an external
// file (the CSP allows no inline script); the pages work without it.
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      try {
        if (document.execCommand("copy")) { resolve(); } else { reject(new Error("copy refused")); }
      } catch (e) {
        reject(e);
      } finally {
        document.body.removeChild(ta);
      }
    });
  }
  function flash(btn, text, cls) {
    var old = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", old);
    btn.textContent = text;
    btn.classList.add(cls);
    window.setTimeout(function () {
      btn.textContent = old;
      btn.classList.remove(cls);
    }, 1600);
  }
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.copy") : null;
    if (!btn) { return; }
    var el = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!el) { return; }
    copyText(el.textContent.trim()).then(function () {
      flash(btn, "Copied", "copied");
    }, function () {
      var range = document.createRange();
      range.selectNodeContents(el);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      flash(btn, "Press Ctrl+C", "failed");
    });
  });
  // Copy buttons are useless without this script: show them only now.
  document.documentElement.classList.add("js");
})();
