/* valuenet — tiny charts: a multi-series line chart on <canvas> and SVG sparklines (no dependencies). */
(function () {
  "use strict";

  function line(canvas, series, opts = {}) {
    const dpr = window.devicePixelRatio || 1, r = canvas.getBoundingClientRect();
    const w = Math.max(r.width, 100), h = Number(canvas.getAttribute("height")) || 150;
    canvas.width = w * dpr; canvas.height = h * dpr; canvas.style.height = h + "px";
    const c = canvas.getContext("2d"); c.setTransform(dpr, 0, 0, dpr, 0, 0); c.clearRect(0, 0, w, h);
    const legendH = opts.legend === false ? 0 : 16, padL = 44, padR = 10, padT = 8 + legendH, padB = 20;
    const all = series.flatMap(s => s.values.filter(v => v != null && isFinite(v)));
    const n = Math.max(...series.map(s => s.values.length), 0);
    c.font = "11px system-ui, sans-serif"; c.fillStyle = "#6b7280";
    if (!all.length || n < 1) { c.fillText("no data yet", w / 2 - 30, h / 2); return; }
    let lo = Math.min(0, ...all), hi = Math.max(...all); if (hi === lo) hi = lo + 1;
    const X = i => padL + (n <= 1 ? (w - padL - padR) / 2 : i * (w - padL - padR) / (n - 1));
    const Y = v => padT + (1 - (v - lo) / (hi - lo)) * (h - padT - padB);
    c.strokeStyle = "#eef2f7"; c.lineWidth = 1;
    const ticks = axisTicks(lo, hi);
    lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
    for (const v of ticks) {
      const y = Y(v);
      c.beginPath(); c.moveTo(padL, y); c.lineTo(w - padR, y); c.stroke();
      c.fillText(fmtAxis(v, ticks[1] - ticks[0]), 4, y + 4);
    }
    if (opts.labels && opts.labels.length) {
      c.fillText(opts.labels[0], padL, h - 5);
      const last = opts.labels[opts.labels.length - 1]; c.fillText(last, w - padR - c.measureText(last).width, h - 5);
    }
    for (const s of series) {
      c.strokeStyle = s.color; c.lineWidth = 2; c.setLineDash(s.dash || []); c.beginPath();
      let started = false;
      s.values.forEach((v, i) => { if (v == null || !isFinite(v)) return; if (!started) { c.moveTo(X(i), Y(v)); started = true; } else c.lineTo(X(i), Y(v)); });
      c.stroke(); c.setLineDash([]);
      const li = s.values.length - 1; if (li >= 0 && s.values[li] != null) { c.fillStyle = s.color; c.beginPath(); c.arc(X(li), Y(s.values[li]), 3, 0, 7); c.fill(); }
    }
    if (opts.legend !== false) {
      let x = padL + 6;
      for (const s of series) { c.fillStyle = s.color; c.fillRect(x, 5, 10, 3); c.fillStyle = "#374151"; c.fillText(s.name, x + 14, 10); x += c.measureText(s.name).width + 30; }
    }
  }

  /** "Nice" axis ticks (steps of 1, 2 or 5 × 10^k) covering [lo, hi]. */
  function axisTicks(lo, hi, count = 3) {
    const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= raw);
    const out = [];
    for (let v = Math.floor(lo / step) * step; v < hi + step * 0.999; v += step) out.push(v);
    return out;
  }

  /** One format for every tick of an axis: as many decimals as the step needs, thousands as "1,200" (never "1.2k"). */
  function fmtAxis(v, step) {
    const d = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return Number(v.toFixed(d)).toLocaleString("en", { minimumFractionDigits: d, maximumFractionDigits: d });
  }

  /** A number for a label: thousands separated, at most 3 significant decimals. */
  function fmt(v) {
    const a = Math.abs(v);
    if (a >= 100 || Number.isInteger(v)) return Math.round(v).toLocaleString("en");
    return v.toLocaleString("en", { maximumSignificantDigits: 3 });
  }

  function spark(values, w = 90, h = 22, color = "#0f766e") {
    const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("class", "spark");
    if (!values || !values.length) return svg;
    const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
    const pts = values.map((v, i) => [values.length === 1 ? w / 2 : i * (w - 4) / (values.length - 1) + 2, h - 3 - (v - lo) / span * (h - 6)]);
    const p = document.createElementNS(ns, "polyline");
    p.setAttribute("points", pts.map(q => q.join(",")).join(" ")); p.setAttribute("fill", "none");
    p.setAttribute("stroke", color); p.setAttribute("stroke-width", "1.6"); svg.appendChild(p);
    const dot = document.createElementNS(ns, "circle"); const [lx, ly] = pts[pts.length - 1];
    dot.setAttribute("cx", lx); dot.setAttribute("cy", ly); dot.setAttribute("r", "2.2"); dot.setAttribute("fill", color); svg.appendChild(dot);
    return svg;
  }

  window.VNCharts = { line, spark, fmt, fmtAxis, axisTicks };
})();
