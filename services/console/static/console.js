// Samnav console: a little progressive enhancement. Every page works
// without it. The Content-Security-Policy allows scripts only from
// /static, so nothing here is inline.
//
// - form[data-autosubmit]: search as you type. 400 ms after typing stops,
//   the form is posted (with its CSRF field) and the answer's #results and
//   #paging replace this page's; focus stays in the field. The search may
//   hold a name or a personnummer, so it never goes into the address.
// - [data-poll]: the element's content is reloaded from the URL in
//   data-poll every two seconds until it holds an element with data-done.
// - An error summary on the page takes focus, so screen readers announce it.
(function () {
  "use strict";

  function swap(doc, id) {
    var from = doc.getElementById(id), to = document.getElementById(id);
    if (from && to) { to.innerHTML = from.innerHTML; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }

    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      var timer = null, seq = 0;
      form.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var body = new URLSearchParams(new FormData(form));
          var mine = ++seq;
          fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "text/html" } })
            .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
            .then(function (html) {
              if (mine !== seq) { return; }
              var doc = new DOMParser().parseFromString(html, "text/html");
              swap(doc, "results");
              swap(doc, "paging");
            })
            .catch(function () { form.submit(); });
        }, 400);
      });
    });

    document.querySelectorAll("[data-poll]").forEach(function (el) {
      var url = el.getAttribute("data-poll");
      var tick = function () {
        fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            el.innerHTML = html;
            if (!el.querySelector("[data-done]")) { setTimeout(tick, 2000); }
          })
          .catch(function () { setTimeout(tick, 5000); });
      };
      if (!el.querySelector("[data-done]")) { setTimeout(tick, 2000); }
    });
  });
})();
