// Herald status page: times in the browser's zone, the admin credential kept
// for this tab, and a refresh every few seconds while nobody is typing.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function offset(d) {
    var m = -d.getTimezoneOffset(), sign = m < 0 ? "-" : "+";
    m = Math.abs(m);
    return sign + pad(Math.floor(m / 60)) + ":" + pad(m % 60);
  }
  function local(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + " " + offset(d);
  }
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) { el.title = el.textContent; el.textContent = local(d); }
  });
  var zone = document.getElementById("zone");
  if (zone) {
    var tz = "";
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
    zone.textContent = "times in " + (tz ? tz + " " : "") + "(UTC" + offset(new Date()) + ")";
  }

  // The credential: restored into the admin fields, saved when a form is sent.
  var creds = document.querySelectorAll("[data-cred]");
  creds.forEach(function (el) {
    var v = sessionStorage.getItem("herald." + el.name);
    if (v) { el.value = v; }
  });
  var act = document.getElementById("act");
  if (act) {
    act.addEventListener("submit", function () {
      creds.forEach(function (el) { sessionStorage.setItem("herald." + el.name, el.value); });
    });
  }

  // Forget the message of the last action, so a refresh does not repeat it.
  var url = new URL(location.href);
  if (url.searchParams.has("done")) {
    url.searchParams.delete("done");
    history.replaceState(null, "", url.toString());
  }

  // Remember which <details> are open across refreshes.
  var details = document.querySelectorAll("details");
  details.forEach(function (el, i) {
    var key = "herald.open." + (el.id || el.querySelector("summary").textContent.replace(/\s*\(\d+\)$/, "") + i);
    if (sessionStorage.getItem(key) === "1") { el.open = true; }
    el.addEventListener("toggle", function () { sessionStorage.setItem(key, el.open ? "1" : "0"); });
  });

  var every = parseInt(document.body.getAttribute("data-refresh"), 10);
  if (every > 0) {
    var typed = false;
    document.addEventListener("input", function () { typed = true; });
    setInterval(function () {
      var a = document.activeElement;
      var busy = a && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA");
      if (!busy && !typed) { location.reload(); }
    }, every * 1000);
  }
})();
