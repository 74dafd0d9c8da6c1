// Samnav console: a little progressive enhancement. Every page works
// without it.
//
// - [data-autosubmit] forms submit themselves 400 ms after typing stops
//   (search as you type); the focused field keeps its focus.
// - [data-poll] elements reload their content from the URL in data-poll
//   every two seconds until the response carries data-done.
// - An error summary on the page takes focus, so screen readers announce it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }

    document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      var timer = null;
      form.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { form.requestSubmit(); }, 400);
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
