/* valuenet dashboard: REST for the views, Server-Sent Events (/api/feed) for live ticks.
   The feed is read with fetch() so a bearer token travels in a header, never in a URL. */
(function () {
  "use strict";
  const $ = id => document.getElementById(id);
  const SEGS = ["workforce", "partner", "customer", "influencer", "unknown"];
  const TYPES = ["knowledge", "idea", "reputation"];
  // segment and flow-type colours, served inline with the page (schemas/palette.py)
  const COL = window.VNPalette.flows, SEGCOL = window.VNPalette.segments;
  const state = { network: null, window: null, windows: [], tab: "overview", rates: [], lastTick: null, actor: null, reachActor: null };
  let token = sessionStorage.getItem("valuenet-token") || null;

  // ---------------------------------------------------------------- HTTP
  async function api(path, params = {}, raw = false) {
    const u = new URL(path, location.origin);
    const p = Object.assign({ network: state.network, window: state.window }, params);
    for (const [k, v] of Object.entries(p)) {
      if (v == null || v === "") continue;
      (Array.isArray(v) ? v : [v]).forEach(x => u.searchParams.append(k, x));
    }
    const r = await fetch(u, { headers: token ? { Authorization: "Bearer " + token } : {} });
    if (r.status === 401) { askToken(); throw new Error("unauthorised"); }
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return raw ? r.text() : r.json();
  }
  function askToken() {
    $("token-dialog").hidden = false; $("token-input").focus();
  }
  $("token-form").addEventListener("submit", ev => {
    ev.preventDefault(); token = $("token-input").value.trim(); sessionStorage.setItem("valuenet-token", token);
    $("token-dialog").hidden = true; boot();
  });

  // ---------------------------------------------------------------- formatting
  /** One format per quantity: counts and flow weights as "1,234" (one decimal if fractional); a ratio with ``d`` fixed decimals. */
  const fmtNum = (v, d = null) => v == null ? "–"
    : d == null ? Number(v).toLocaleString("en", { maximumFractionDigits: Number.isInteger(v) ? 0 : 1 })
    : Number(v).toLocaleString("en", { minimumFractionDigits: d, maximumFractionDigits: d });
  function fmtDur(s) {
    if (s == null) return "–";
    if (s < 60) return `${s.toFixed(0)}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
    return `${(s / 86400).toFixed(1)}d`;
  }
  const fmtPct = v => v == null ? "–" : `${(v * 100).toFixed(0)}%`;
  const DUR = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const durSeconds = w => { const m = /^(\d+)([smhdw])$/.exec(w || ""); return m ? Number(m[1]) * DUR[m[2]] : 3600; };
  /** Rates are shown per minute, hour or day, whichever suits the window (event time: flows in the window ÷ its length). */
  function rateUnit() { const s = durSeconds(state.window); return s <= 7200 ? ["minute", 60] : s <= 2 * 86400 ? ["hour", 3600] : ["day", 86400]; }
  const fmtRate = v => v == null ? "–" : v.toLocaleString("en", v >= 100 ? { maximumFractionDigits: 0 } : { maximumSignificantDigits: 3 });
  function showRate(t, perS) {
    const [, mult] = rateUnit();
    setVal($("rate-" + t), perS, perS == null ? "–" : fmtRate(perS * mult));
  }
  /** "n of N" beside a median or a share; nothing when the tick does not carry the counts. */
  const countOf = (n, total, what) => total == null ? "" : `${fmtNum(n)} of ${fmtNum(total)} ${what}`;
  const fmtTime = iso => iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "–";
  function setVal(el, value, text) {
    if (!el) return;
    const v = value == null ? "" : String(value);
    if (el.dataset.value !== v) {
      el.dataset.value = v; el.textContent = text;
      el.classList.remove("changed"); void el.offsetWidth; el.classList.add("changed");
    }
  }
  function el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) e.append(kid.nodeType ? kid : document.createTextNode(String(kid)));
    return e;
  }
  const segDot = s => el("span", { class: "seg", style: `background:${VNGraph.SEG[s] || VNGraph.SEG.unknown}`, title: s });
  const actorLink = (id, name) => el("a", { href: `#actor/${encodeURIComponent(id)}` }, name || id);

  // ---------------------------------------------------------------- overview
  const KPI = {
    actors: v => fmtNum(v), edges: v => fmtNum(v), density: v => fmtNum(v, 4), reciprocity: v => fmtNum(v, 3),
    modularity: v => fmtNum(v, 3), ei_index: v => fmtNum(v, 3), communities: v => fmtNum(v),
    readiness_index: v => fmtNum(v, 2), responsiveness_median_s: fmtDur, responsiveness_p90_s: fmtDur,
    idea_pickup_share: fmtPct, idea_pickup_median_s: fmtDur, uncertain_share: fmtPct,
  };
  function showNetworkMetrics(m) {
    if (!m) return;
    for (const [k, f] of Object.entries(KPI)) setVal($("kpi-" + k), m[k], f(m[k]));
    for (const t of TYPES) showRate(t, m["flows_per_s_" + t]);
    $("rates-unit").textContent = `flows per ${rateUnit()[0]}, by type · event time: flows in the ${state.window} window ÷ its length`;
    // the counts behind the median and the share ("n of N"), or a plain sentence when there is nothing to count
    $("resp-count").textContent = m.questions ? countOf(m.questions_answered, m.questions, "customer questions answered")
      : m.responsiveness_median_s == null ? "no answered customer question in this window" : "";
    $("idea-count").textContent = m.ideas ? countOf(m.ideas_picked_up, m.ideas, "ideas taken up")
      : m.idea_pickup_share == null ? "no customer or partner idea in this window" : "";
    $("tick-meta").textContent = `computed ${fmtTime(m.computed_at)} · window ends ${fmtTime(m.window_end)} · tick ${(m.tick_seconds || 0).toFixed(2)} s` + (m.late_events ? ` · ${m.late_events} late events` : "") + (m.future_events ? ` · ${m.future_events} future-dated events dead-lettered` : "");
    $("tick-meta").dataset.computedAt = m.computed_at;
  }
  function pushRate(m) {
    if (!m) return;
    const last = state.rates[state.rates.length - 1];
    if (last && last.computed_at === m.computed_at) return;
    state.rates.push(m); if (state.rates.length > 120) state.rates.shift();
    drawRates();
  }
  function drawRates() {
    const [unit, mult] = rateUnit();
    VNCharts.line($("rates-chart"), TYPES.map(t => ({ name: `${t} / ${unit}`, color: COL[t], values: state.rates.map(m => m["flows_per_s_" + t] * mult) })),
      { labels: state.rates.length ? [fmtTime(state.rates[0].computed_at), fmtTime(state.rates[state.rates.length - 1].computed_at)] : [] });
  }
  async function loadOverview() {
    const nm = await api("/api/metrics/network", { history: 60 });
    const m = nm.metrics.find(x => x.window === state.window);
    state.rates = nm.history || []; drawRates();
    showNetworkMetrics(m);
    await Promise.all([loadTunnels(), loadTop(), loadAlerts()]);
  }
  async function loadTunnels() {
    const t = await api("/api/tunnels");
    const box = $("tunnels"); box.textContent = "";
    if (!t.segments.length) { box.append(el("div", { class: "muted" }, "no tunnels in this window yet")); return; }
    const by = {}; t.tunnels.forEach(r => by[r.src_segment + ">" + r.dst_segment] = r);
    const max = Math.max(1, ...t.matrix.flat());
    const table = el("table", {}, el("tr", {}, el("th", {}, "giver ↓ / receiver →"), ...t.segments.map(s => el("th", {}, segDot(s), s))));
    t.segments.forEach((src, i) => {
      const row = el("tr", {}, el("th", {}, segDot(src), src));
      t.segments.forEach((dst, j) => {
        const v = t.matrix[i][j], r = by[src + ">" + dst], a = v / max;
        const td = el("td", { style: `background: rgba(15,118,110,${0.06 + 0.84 * a}); color: ${a > 0.45 ? "#fff" : "#1f2937"}`, "data-src": src, "data-dst": dst, "data-value": v,
          class: a > 0.45 ? "dark" : "",
          title: r ? `${src} → ${dst}: ${fmtNum(r.knowledge)} knowledge, ${fmtNum(r.idea)} idea, ${fmtNum(r.reputation)} reputation flows; ${fmtNum(r.actor_pairs)} actor pairs; reciprocity ${r.reciprocity.toFixed(2)}` : "" },
          el("span", { class: "total" }, v ? fmtNum(v) : "·"));
        if (r) td.append(el("span", { class: "parts" }, ...TYPES.filter(x => r[x]).map(x => el("span", { class: "part " + x }, `${fmtNum(r[x])} ${x}`))));
        row.append(td);
      });
      table.append(row);
    });
    box.append(table);
  }
  function actorTable(tbody, rows, metric, digits = 4) {
    tbody.textContent = "";
    tbody.append(el("tr", {}, el("th", {}, "actor"), el("th", { class: "num" }, metric)));
    if (!rows.length) tbody.append(el("tr", {}, el("td", { class: "muted", colspan: 2 }, "no data")));
    rows.forEach(r => tbody.append(el("tr", { "data-actor": r.actor, "data-kind": r.kind || "person" }, el("td", {}, segDot(r.segment), actorLink(r.actor, r.name),
      r.kind && r.kind !== "person" ? el("small", { class: "muted" }, ` ${r.kind}`) : ""),
      el("td", { class: "num", "data-value": r[metric] }, fmtNum(r[metric], digits)))));
  }
  async function loadTop() {
    const kinds = $("include-non-persons") && $("include-non-persons").checked ? "all" : null;  // people only unless asked
    const [b, p] = await Promise.all([api("/api/metrics/actors", { metric: "brokerage", limit: 8, include_kinds: kinds }),
      api("/api/metrics/actors", { metric: "pagerank", limit: 8, include_kinds: kinds })]);
    actorTable($("brokers"), b.actors, "brokerage", null); actorTable($("influencers"), p.actors, "pagerank", 4);
  }
  async function loadAlerts() {
    const a = await api("/api/alerts", { window: null, limit: 30 });
    const ul = $("alerts"); ul.textContent = "";
    if (!a.alerts.length) ul.append(el("li", { class: "empty" }, "no alerts"));
    a.alerts.forEach(x => ul.append(alertItem(x)));
  }
  function alertItem(x, fresh) {
    return el("li", { class: fresh ? "new" : "" }, el("span", { class: "when" }, `${x.window} · ${fmtTime(x.raised_at)}`),
      el("b", {}, x.kind.replace(/_/g, " ")), " · ", x.name && x.name !== x.subject ? `${x.name} (${x.subject})` : x.subject, el("br"), el("span", { class: "small" }, x.message));
  }

  // ---------------------------------------------------------------- graph
  let graph = null, ego = null;
  function graphFilters() {
    return {
      type: [...document.querySelectorAll("#type-filters input:checked")].map(i => i.value),
      segment: [...document.querySelectorAll("#segment-filters input:checked")].map(i => i.value),
    };
  }
  const GRAPH_EDGES = 50000;  // heaviest edges the graph view asks for (sigma.js stays interactive at this size)
  function showFocus(n) {
    const box = $("graph-focus"); box.textContent = "";
    if (!n) { box.hidden = true; return; }
    box.hidden = false;
    box.append(el("div", {}, segDot(n.segment), el("b", {}, n.name || n.id), el("small", {}, ` ${n.segment}${n.team ? " / " + n.team : ""}`)),
      el("div", { class: "small" }, `PageRank ${fmtNum(n.pagerank, 4)} · betweenness ${fmtNum(n.betweenness, 4)} · reach ${fmtNum(n.reach)} · flows ${fmtNum(n.strength)}`),
      el("div", {}, actorLink(n.id, "open the actor page →"), " ", el("button", { onclick: () => { graph.clearFocus(); $("graph-search").value = ""; } }, "clear")));
  }
  const BIG_GRAPH_REFRESH_MS = 30000;  // a big graph follows the ticks at most this often (rebuilding it costs about a second)
  async function loadGraph(ev) {
    if (!graph) graph = new VNGraph($("graph-canvas"), { tip: $("graph-tip"), onFocus: showFocus });
    const f = graphFilters();
    if (!f.type.length || !f.segment.length) { graph.setData([], []); $("graph-meta").textContent = "nothing selected"; return; }
    const scope = JSON.stringify([state.network, state.window, f]);
    if (!ev && scope === graph.scope && graph.graph.order > 5000 && Date.now() - graph.loadedAt < BIG_GRAPH_REFRESH_MS) return;
    graph.scope = scope; graph.loadedAt = Date.now();
    const g = await api("/api/graph", { type: f.type.join(","), segment: f.segment.length === SEGS.length ? null : f.segment.join(","), limit: GRAPH_EDGES });
    const key = JSON.stringify([state.network, state.window, f, g.edges.length, g.nodes.length, g.edges.reduce((a, e) => a + e.weight, 0)]);
    if (key !== graph.dataKey) { graph.dataKey = key; graph.setData(g.nodes, g.edges); }  // unchanged graph: no re-layout
    $("graph-meta").textContent = `${fmtNum(g.nodes.length)} actors · ${fmtNum(g.edges.length)} of ${fmtNum(g.total_edges)} edges`;
    $("graph-meta").dataset.nodes = g.nodes.length;
    const q = $("graph-search").value;
    if (q && !graph.primary) searchGraph(q);
  }
  function searchGraph(q) {
    const n = graph.search(q);
    $("graph-hits").textContent = q.trim() ? (n ? `${fmtNum(n)} match${n > 1 ? "es" : ""}` : "no match") : "";
  }
  function buildGraphControls() {
    const box = $("segment-filters");
    SEGS.forEach(s => box.append(el("label", {}, el("input", { type: "checkbox", value: s, checked: "" }), segDot(s), s)));
    document.querySelectorAll("#type-filters input, #segment-filters input").forEach(i => i.addEventListener("change", loadGraph));
    $("graph-search").addEventListener("input", ev => graph && searchGraph(ev.target.value));
    $("zoom-in").onclick = () => graph.zoom(1.5); $("zoom-out").onclick = () => graph.zoom(1 / 1.5); $("zoom-fit").onclick = () => graph.fit();
    const leg = $("graph-legend");
    SEGS.forEach(s => leg.append(el("span", {}, segDot(s), s)));
    TYPES.forEach(t => leg.append(el("span", {}, el("span", { class: "edge-key", style: `background:${VNGraph.FLOW[t][0]}` }), t)));
    leg.append(el("span", {}, "node size ∝ √PageRank · arrow = giver → receiver · wheel to zoom, drag to pan, hover for details, click to focus an actor"));
  }

  // ---------------------------------------------------------------- marketing
  async function loadMarketing() {
    const metric = state.reachMetric || "reach";
    const lb = await api("/api/reach/leaderboard", { limit: 15, metric });
    lb.leaders = lb.leaders.filter(l => l[metric] > 0);  // a board of zeros ranks nobody: say so instead
    state.leaders = lb.leaders;
    const t = $("leaderboard"); t.textContent = "";
    // the ranking column is marked ▼; a click on another metric's header ranks by it
    const head = (key, label) => el("th", { class: "num sortable" + (key === metric ? " sorted" : ""), "data-metric": key, title: `rank by ${label}`,
      onclick: () => { state.reachMetric = key; loadMarketing(); } }, label + (key === metric ? " ▼" : ""));
    t.append(el("tr", {}, el("th", {}, "#"), el("th", {}, "actor"), head("reach", "reach"), head("potential_reach", "potential"),
      el("th", { class: "num", title: "reach now − reach at the start of the trend" }, "Δ reach"), el("th", {}, "trend"), head("amplification_rate", "amplification")));
    if (!lb.leaders.length) t.append(el("tr", {}, el("td", { colspan: 7, class: "muted" },
      "nobody's posts were reposted, quoted or boosted in this window, so no one has reach yet (a code-review history has no amplification; the synthetic company does)")));
    lb.leaders.forEach(l => {
      const d = el("td", { class: "num delta " + (l.delta > 0 ? "up" : l.delta < 0 ? "down" : "") }, l.delta > 0 ? `+${fmtNum(l.delta)}` : fmtNum(l.delta));
      t.append(el("tr", { class: "click" + (l.actor === state.reachActor ? " sel" : ""), "data-actor": l.actor, onclick: () => showReach(l.actor) },
        el("td", {}, l.rank), el("td", {}, segDot(l.segment), l.name || l.actor),
        el("td", { class: "num", "data-value": l.reach }, fmtNum(l.reach)), el("td", { class: "num", "data-value": l.potential_reach }, fmtNum(l.potential_reach)), d,
        el("td", {}, VNCharts.spark(l.trend)), el("td", { class: "num", "data-value": l.amplification_rate }, fmtNum(l.amplification_rate, 2))));
    });
    if (!lb.leaders.length) {
      $("reach-title").textContent = "Pick an influencer"; $("reach-body").textContent = ""; $("cascade").textContent = "";
      state.reachActor = null; return;
    }
    if (!state.reachActor) state.reachActor = lb.leaders[0].actor;
    if (state.reachActor) await showReach(state.reachActor, true);
  }
  async function showReach(actor, keepCascade) {
    state.reachActor = actor;
    document.querySelectorAll("#leaderboard tr.click").forEach(tr => tr.classList.toggle("sel", tr.dataset.actor === actor));
    let r;
    try { r = await api("/api/reach", { actor }); } catch (e) { return; }
    const leader = (state.leaders || []).find(l => l.actor === actor);
    $("reach-title").textContent = `Reach of ${leader && leader.name ? leader.name : actor}`;
    const body = $("reach-body"); body.textContent = ""; body.classList.remove("muted");
    const lt = r.latest || {};
    body.append(el("div", { class: "pair" },
      el("div", {}, el("div", { class: "k" }, "reach now"), el("div", { class: "big", id: "reach-now", "data-value": lt.reach }, fmtNum(lt.reach))),
      el("div", {}, el("div", { class: "k" }, "potential reach"), el("div", { class: "big" }, fmtNum(lt.potential_reach)))));
    const cv = el("canvas", { height: 120 }); body.append(cv);
    VNCharts.line(cv, [{ name: "reach", color: SEGCOL.influencer, values: r.trend.map(p => p.reach) }],
      { labels: r.trend.length ? [fmtTime(r.trend[0].computed_at), fmtTime(r.trend[r.trend.length - 1].computed_at)] : [] });
    body.append(el("h2", { class: "mt" }, "Most amplified posts ", el("small", {}, "click for the cascade")));
    const posts = el("div", { class: "posts" });
    if (!r.posts.length) posts.append(el("div", { class: "muted" }, "no amplified posts"));
    r.posts.forEach(p => posts.append(el("div", { "data-event": p.event_id, title: p.event_id, onclick: () => showCascade(p.event_id) },
      el("b", {}, postLabel(p.event_id)), ` — ${fmtNum(p.responses)} responses from ${fmtNum(p.actors)} actors, first ${fmtTime(p.first_seen)}`)));
    body.append(posts);
    if (!keepCascade) $("cascade").textContent = "";
  }
  /** A short name for a post id: "Bluesky post 3n3l…" for an at:// URI, "Mastodon status 1130…" for status:…; else the id. */
  function postLabel(id) {
    const bsky = /^at:\/\/[^/]+\/app\.bsky\.feed\.post\/(.+)$/.exec(id);
    if (bsky) return `Bluesky post ${bsky[1]}`;
    const masto = /^status:(.+)$/.exec(id);
    return masto ? `Mastodon status ${masto[1]}` : id;
  }
  async function showCascade(eventId) {
    const c = await api("/api/cascade/" + encodeURIComponent(eventId), { window: null });
    const box = $("cascade"); box.textContent = "";
    box.append(el("h2", { class: "mt" }, `Cascade of ${postLabel(eventId)} `, el("small", {}, `reach ${c.reach} · depth ${c.depth} · ${c.events.length} events`)));
    // layered tree: author at depth 0, each event at its hop depth; a crowded hop wraps into rows of small, unlabelled dots
    const levels = [[{ id: c.author, label: c.author, depth: 0 }]];
    c.events.forEach(e => { (levels[e.depth] = levels[e.depth] || []).push({ id: e.event_id, label: e.giver, depth: e.depth, from: e.parent_id, kind: e.kind, seg: e.giver_segment }); });
    const W = 640, PER_ROW = 32, ns = "http://www.w3.org/2000/svg", pos = {};
    let y = 24;
    const bands = levels.map((lv, d) => {
      lv = lv || [];
      const crowded = lv.length > 12, rows = Math.max(1, Math.ceil(lv.length / (crowded ? PER_ROW : 12))), per = Math.ceil(lv.length / rows);
      lv.forEach((n, i) => { const r = Math.floor(i / per), k = i % per, inRow = Math.min(per, lv.length - r * per);
        pos[n.id] = [60 + (k + 1) * (W - 80) / (inRow + 1), y + r * 22]; n.small = crowded; });
      const band = { d, y, n: lv.length }; y += (rows - 1) * 22 + (crowded ? 50 : 70); return band;
    });
    const H = y, svg = document.createElementNS(ns, "svg"); svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("id", "cascade-svg");
    pos[eventId] = pos[c.author];
    const mk = (tag, attrs, text, parent = svg) => { const e = document.createElementNS(ns, tag); Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v)); if (text != null) e.textContent = text; parent.append(e); return e; };
    bands.forEach(b => mk("text", { x: 4, y: b.y + 4, "font-size": 11, fill: "#6b7280" }, b.d === 0 ? "author" : `hop ${b.d} · ${fmtNum(b.n)}`));
    levels.forEach(lv => (lv || []).forEach(n => { if (n.from && pos[n.from]) { const [x1, y1] = pos[n.from], [x2, y2] = pos[n.id]; mk("path", { d: `M${x1},${y1 + 9} C${x1},${y1 + 40} ${x2},${y2 - 40} ${x2},${y2 - (n.small ? 5 : 9)}`, stroke: COL.reputation, fill: "none", "stroke-opacity": n.small ? 0.25 : 0.6, "stroke-dasharray": "2 3" }); } }));
    levels.forEach(lv => (lv || []).forEach(n => {
      const [x, yy] = pos[n.id];
      const dot = mk("circle", { cx: x, cy: yy, r: n.small ? 5 : 9, fill: n.depth === 0 ? SEGCOL.influencer : (SEGCOL[n.seg] || SEGCOL.unknown), stroke: "#fff", "stroke-width": n.small ? 1 : 2 });
      mk("title", {}, n.label + (n.kind && n.depth ? ` (${n.kind})` : ""), dot);
      if (n.depth === 0) mk("text", { x: x + 14, y: yy + 4, "font-size": 11, fill: "#1f2937" }, n.label);  // beside the author: its edges leave below
      else if (!n.small) mk("text", { x, y: yy + 24, "text-anchor": "middle", "font-size": 11, fill: "#1f2937" }, n.label + (n.kind ? ` (${n.kind})` : ""));
    }));
    box.append(svg);
  }

  // ---------------------------------------------------------------- value map
  async function loadValuemap() {
    const teams = $("vm-teams").checked;
    const svg = await api("/api/valuemap", { format: "svg", teams }, true);
    const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
    const box = $("valuemap"); box.textContent = ""; box.append(document.importNode(doc.documentElement, true));
    for (const f of ["dot", "mermaid", "svg"]) {
      const u = new URL("/api/valuemap", location.origin);
      Object.entries({ network: state.network, window: state.window, format: f, teams }).forEach(([k, v]) => u.searchParams.set(k, v));
      $("vm-" + f).href = u.pathname + u.search;
      if (token) $("vm-" + f).onclick = ev => { ev.preventDefault(); download(u, f); };
    }
  }
  async function download(u, f) {
    const r = await fetch(u, { headers: { Authorization: "Bearer " + token } });
    const a = el("a", { href: URL.createObjectURL(await r.blob()), download: `valuemap.${f === "mermaid" ? "mmd" : f}` }); a.click();
  }
  $("vm-teams").addEventListener("change", loadValuemap);
  VNWhatIf.valuemapPanel(state);

  // ---------------------------------------------------------------- actor page
  let searchTimer = null;
  $("actor-search").addEventListener("input", ev => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const hits = $("actor-hits"); hits.textContent = "";
      const q = ev.target.value.trim(); if (!q) return;
      const r = await api("/api/actors", { q, limit: 12 });
      r.actors.forEach(a => hits.append(el("div", { onclick: () => { hits.textContent = ""; go(`actor/${encodeURIComponent(a.actor)}`); } }, segDot(a.segment), a.name ? `${a.name} (${a.actor})` : a.actor)));
      if (!r.actors.length) hits.append(el("div", { class: "muted" }, "no match"));
    }, 150);
  });
  async function loadActor() {
    if (!state.actor) { $("actor-body").hidden = true; return; }
    let a;
    try { a = await api("/api/actors/" + encodeURIComponent(state.actor), { history: 60 }); }
    catch (e) { $("actor-body").hidden = true; $("actor-hits").textContent = `actor ${state.actor} not found`; return; }
    $("actor-body").hidden = false;
    const l = a.latest || {};
    $("actor-title").textContent = ""; $("actor-title").append(segDot(l.segment), a.name ? `${a.name} (${a.actor})` : a.actor, el("small", {}, `${l.segment || ""} · window ${a.window}`));
    const t = $("actor-metrics"); t.textContent = "";
    const rows = [["PageRank", l.pagerank, 4], ["PageRank (reputation)", l.pagerank_reputation, 4], ["betweenness", l.betweenness, 4],
      ["boundary spanning", l.boundary_spanning, null], ["give/get balance", l.give_get_balance, 3], ["community", l.community, null],
      ["reach", l.reach, null], ["potential reach", l.potential_reach, null],
      ["knowledge in / out", [l.in_knowledge, l.out_knowledge]], ["ideas in / out", [l.in_idea, l.out_idea]], ["reputation in / out", [l.in_reputation, l.out_reputation]]];
    rows.forEach(([k, v, d]) => t.append(el("tr", {}, el("td", {}, k), el("td", { class: "num" }, Array.isArray(v) ? v.map(x => fmtNum(x)).join(" / ") : fmtNum(v, d)))));
    const h = a.history;
    VNCharts.line($("actor-chart"), [
      { name: "PageRank ×100", color: "#0f766e", values: h.map(x => x.pagerank * 100) },
      { name: "betweenness ×100", color: "#f97316", values: h.map(x => x.betweenness * 100) },
      { name: "reach", color: SEGCOL.influencer, values: h.map(x => x.reach) },
      { name: "out strength", color: COL.knowledge, dash: [4, 3], values: h.map(x => x.out_knowledge + x.out_idea + x.out_reputation) },
    ], { labels: h.length ? [fmtTime(h[0].computed_at), fmtTime(h[h.length - 1].computed_at)] : [] });
    if (!ego) ego = new VNGraph($("ego-canvas"), { tip: $("ego-tip"), onClick: n => go(`actor/${encodeURIComponent(n.id)}`) });
    ego.setData(a.ego.nodes, a.ego.edges); ego.mark(a.actor);
    VNWhatIf.actorPanel(state, a.actor);
  }

  // ---------------------------------------------------------------- routing, refresh, feed
  const LOADERS = { overview: loadOverview, graph: loadGraph, marketing: loadMarketing, valuemap: loadValuemap, actor: loadActor,
    rearrange: () => VNWhatIf.loadRearrange(state) };
  function go(hash) { location.hash = hash; }
  function route() {
    const h = decodeURIComponent(location.hash.slice(1) || "overview");
    const [tab, ...rest] = h.split("/");
    state.tab = LOADERS[tab] ? tab : "overview";
    if (state.tab === "actor" && rest.length) state.actor = rest.join("/");
    document.querySelectorAll(".tab").forEach(s => s.hidden = s.id !== "tab-" + state.tab);
    document.querySelectorAll("#tabs a").forEach(a => a.classList.toggle("active", a.dataset.tab === state.tab));
    refresh();
  }
  let refreshing = null, again = false;
  async function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      try { await LOADERS[state.tab](); } catch (e) { console.warn(e); }
      refreshing = null;
      if (again) { again = false; refresh(); }
    })();
    return refreshing;
  }

  // live counters (after every batch of flows, between ticks): flow rates of the selected window
  function onLive(live) {
    if (!live || live.network !== state.network) return;
    const row = (live.live || []).find(r => r.window === state.window);
    if (!row) return;
    for (const t of TYPES) showRate(t, row["flows_per_s_" + t]);
    $("live-text").textContent = `live · flows through ${fmtTime(new Date(live.watermark_ms).toISOString())}`;
  }
  function onTick(tick) {
    if (!tick || tick.network !== state.network) return;
    state.lastTick = tick.computed_at;
    const m = (tick.network_metrics || []).find(x => x.window === state.window);
    if (m) { showNetworkMetrics(m); pushRate(m); }
    const live = $("live"); live.classList.add("flash"); setTimeout(() => live.classList.remove("flash"), 400);
    $("live-text").textContent = `live · tick ${fmtTime(tick.computed_at)}`;
    refresh();
  }
  function onAlert(a) {
    if (a.network !== state.network) return;
    const ul = $("alerts"); const empty = ul.querySelector(".empty"); if (empty) empty.remove();
    const li = alertItem(a, true);
    ul.prepend(li);
    // the live feed carries the stored row without names: the API's copy has the display name beside the key
    if (!a.name) api("/api/alerts", { window: null, limit: 30 }).then(r => {
      const hit = r.alerts.find(x => x.kind === a.kind && x.subject === a.subject && x.window === a.window);
      if (hit && hit.name && li.isConnected) li.replaceWith(alertItem(hit, true));
    }).catch(() => {});
  }

  let feedAbort = null;
  async function feed() {
    if (feedAbort) feedAbort.abort();
    const ctl = new AbortController(); feedAbort = ctl;
    let backoff = 1000;
    while (!ctl.signal.aborted) {
      try {
        const u = new URL("/api/feed", location.origin); u.searchParams.set("network", state.network);
        const r = await fetch(u, { headers: Object.assign({ Accept: "text/event-stream" }, token ? { Authorization: "Bearer " + token } : {}), signal: ctl.signal });
        if (r.status === 401) { askToken(); return; }
        if (!r.ok || !r.body) throw new Error("feed " + r.status);
        $("live").className = "live on"; $("live-text").textContent = "live"; backoff = 1000;
        const reader = r.body.getReader(), dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read(); if (done) break;
          buf += dec.decode(value, { stream: true }).replace(/\r\n/g, "\n");
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let ev = "message", data = [];
            block.split("\n").forEach(line => { if (line.startsWith("event:")) ev = line.slice(6).trim(); else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, "")); });
            if (!data.length) continue;
            const payload = JSON.parse(data.join("\n"));
            if (ev === "tick") onTick(payload); else if (ev === "alert") onAlert(payload); else if (ev === "live") onLive(payload);
            else if (ev === "hello" && payload.tick) { state.lastTick = payload.tick.computed_at; $("live-text").textContent = `live · tick ${fmtTime(payload.tick.computed_at)}`; }
          }
        }
      } catch (e) { if (ctl.signal.aborted) return; }
      $("live").className = "live off"; $("live-text").textContent = "reconnecting…";
      await new Promise(res => setTimeout(res, backoff)); backoff = Math.min(backoff * 2, 15000);
    }
  }

  async function boot() {
    let nets;
    try { nets = await api("/api/networks", { network: null, window: null }); } catch (e) { return; }
    state.windows = nets.windows; state.network = state.network || nets.default; state.window = state.window || nets.windows[0];
    const ns = $("network"); ns.textContent = "";
    const names = new Set(nets.networks.map(n => n.network)); names.add(state.network);
    [...names].forEach(n => ns.append(el("option", { value: n }, n))); ns.value = state.network;
    const ws = $("window"); ws.textContent = ""; nets.windows.forEach(w => ws.append(el("option", { value: w }, w))); ws.value = state.window;
    route(); feed();
  }
  $("network").addEventListener("change", ev => { state.network = ev.target.value; state.rates = []; state.reachActor = null; refresh(); feed(); });
  $("window").addEventListener("change", ev => { state.window = ev.target.value; state.rates = []; refresh(); });
  window.addEventListener("hashchange", route);
  $("include-non-persons").addEventListener("change", () => loadTop());
  buildGraphControls();
  window.valuenet = { state, refresh };
  boot();
})();
