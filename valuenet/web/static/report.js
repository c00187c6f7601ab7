/* The Report button: opens GET /api/report for the selected network and window in a new tab.
   With a token (sessionStorage, as app.js keeps it) the page is fetched with the bearer header and
   opened from a blob, so the token never travels in a URL. */
(function () {
  "use strict";
  const btn = document.getElementById("report-open");
  if (!btn) return;
  function reportUrl(format) {
    const u = new URL("/api/report", location.origin);
    const net = document.getElementById("network"), win = document.getElementById("window");
    if (net && net.value) u.searchParams.set("network", net.value);
    if (win && win.value) u.searchParams.set("window", win.value);
    u.searchParams.set("format", format || "html");
    return u;
  }
  function sync() { const u = reportUrl("html"); btn.href = u.pathname + u.search; }
  ["network", "window"].forEach(id => { const s = document.getElementById(id); if (s) s.addEventListener("change", sync); });
  btn.addEventListener("mouseenter", sync);
  btn.addEventListener("focus", sync);
  btn.addEventListener("click", async ev => {
    sync();
    const token = sessionStorage.getItem("valuenet-token");
    if (!token) return; // the link opens the page itself
    ev.preventDefault();
    const tab = window.open("", "_blank");
    const r = await fetch(reportUrl("html"), { headers: { Authorization: "Bearer " + token } });
    const blob = new Blob([await r.text()], { type: r.ok ? "text/html" : "text/plain" });
    const href = URL.createObjectURL(blob);
    if (tab) tab.location = href; else location.href = href;
  });
  sync();
})();
