// summarybot status page: add the viewer's local time under every UTC <time>. No framework;
// the page works without it (UTC is always shown).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var local = document.createElement("span");
    local.className = "local";
    local.textContent = format.format(when);
    el.appendChild(local);
  });
});
