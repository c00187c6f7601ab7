/* Rearranging the value network: the what-if panel (actor and value-map views) and the
   "Rearrange" view (tunnels to dig, key-person risk). Answers come from POST /api/whatif,
   GET /api/recommendations and GET /api/keyperson, computed by the service in a child process. */
(function () {
  "use strict";
  const $ = id => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    kids.flat().forEach(k => e.append(k instanceof Node ? k : document.createTextNode(k == null ? "" : String(k))));
    return e;
  }
  async function call(method, path, state, params, body) {
    const u = new URL(path, location.origin);
    const p = Object.assign({ network: state.network, window: state.window }, params || {});
    if (method === "GET") Object.entries(p).forEach(([k, v]) => v != null && u.searchParams.set(k, v));
    const headers = { "Content-Type": "application/json" };
    const token = sessionStorage.getItem("valuenet-token");
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch(u, { method, headers, body: method === "POST" ? JSON.stringify(Object.assign(p, body)) : undefined });
    const doc = await r.json().catch(() => ({}));
    if (!r.ok) {
      const d = doc.detail;
      throw new Error(Array.isArray(d) ? d.map(x => x.msg).join("; ") : (d || `${path}: ${r.status}`));
    }
    return doc;
  }
  const pct = x => x == null ? "–" : `${Math.round(100 * x)} %`;
  const num = (x, d = 2) => x == null ? "–" : Number(x).toFixed(d);

  function report(box, r) {
    box.textContent = "";
    box.append(el("p", { class: "muted" }, `${r.description} — ${r.window} window, computed in ${num(r.seconds)} s`));
    box.append(el("ul", { class: "whatif-summary" }, r.summary.map(s => el("li", {}, s))));
    const rows = [["readiness index", r.before.readiness_index, r.after.readiness_index, 3],
      ["E-I index", r.before.ei_index, r.after.ei_index, 3],
      ["responsiveness p90 (s)", r.before.responsiveness_p90_s, r.after.responsiveness_p90_s, 0],
      ["idea pickup", r.before.idea_pickup_share, r.after.idea_pickup_share, 2],
      ["actors / edges", `${r.before.actors} / ${r.before.edges}`, `${r.after.actors} / ${r.after.edges}`]];
    box.append(el("table", { class: "list" }, el("tr", {}, el("th", {}, ""), el("th", {}, "before"), el("th", {}, "after")),
      rows.map(([k, b, a, d]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, d == null ? b : num(b, d)), el("td", { class: "num" }, d == null ? a : num(a, d))))));
    const reach = r.reachability.filter(x => x.share_before !== x.share_after || x.hops_before !== x.hops_after);
    if (reach.length) {
      box.append(el("table", { class: "list" }, el("tr", {}, ["tunnel", "reach before", "after", "hops before", "after"].map(h => el("th", {}, h))),
        reach.map(x => el("tr", {}, el("td", {}, `${x.src} → ${x.dst}`), el("td", { class: "num" }, pct(x.share_before)), el("td", { class: "num" }, pct(x.share_after)),
          el("td", { class: "num" }, num(x.hops_before)), el("td", { class: "num" }, num(x.hops_after))))));
    }
  }
  async function run(state, box, change) {
    box.textContent = "computing…";
    try { report(box, await call("POST", "/api/whatif", state, {}, change)); }
    catch (e) { box.textContent = `what-if failed: ${e.message}`; }
  }

  function actorPanel(state, actor) {
    const host = $("whatif-actor"); if (!host) return;
    host.textContent = "";
    const out = el("div", {});
    const other = el("input", { type: "search", placeholder: "actor or team to introduce…" });
    host.append(el("h2", {}, "What if ", el("small", {}, "recomputed on a copy of the window")),
      el("div", { class: "toolbar" },
        el("button", { onclick: () => run(state, out, { remove_actors: [actor] }) }, "…this actor left?"),
        other, el("button", { onclick: () => other.value.trim() && run(state, out, { add_ties: [[actor, other.value.trim()]] }) }, "…we add this tie?")),
      out);
  }

  function valuemapPanel(state) {
    const host = $("whatif-valuemap"); if (!host || host.dataset.ready) return;
    host.dataset.ready = "1";
    const op = el("select", {}, [["remove_teams", "remove team"], ["merge_teams", "merge teams"], ["add_ties", "add a tie between"], ["remove_tunnels", "close the tunnel between"]]
      .map(([v, t]) => el("option", { value: v }, t)));
    const a = el("input", { type: "text", placeholder: "team, segment or actor" });
    const b = el("input", { type: "text", placeholder: "second team / actor (if any)" });
    const out = el("div", {});
    host.append(el("h2", {}, "What if ", el("small", {}, "teams, tunnels and ties")),
      el("div", { class: "toolbar" }, op, a, b, el("button", { onclick: () => {
        const x = a.value.trim(), y = b.value.trim(); if (!x) return;
        run(state, out, { [op.value]: op.value === "remove_teams" ? [x] : [[x, y]] });
      } }, "compute")), out);
  }

  // the display name beside the key (directory name first, then the platform's), as the API sends it
  const named = (name, key) => (name && name !== key ? `${name} (${key})` : key);
  async function loadRearrange(state) {
    const recs = $("rearrange-recs"), kp = $("rearrange-kp"), out = $("rearrange-whatif");
    recs.textContent = "computing…"; kp.textContent = "computing…";
    try {
      const r = await call("GET", "/api/recommendations", state, { limit: 5 });
      recs.textContent = "";
      if (!r.recommendations.length) recs.append(el("p", { class: "muted" }, "no introduction would shorten any path in this window"));
      r.recommendations.forEach(x => recs.append(el("div", { class: "rec" },
        el("h3", {}, `${x.rank}. ${named(x.name_a, x.actor_a)} ↔ ${named(x.name_b, x.actor_b)} `, el("small", {}, `${x.group_a} ↔ ${x.group_b} · ${Math.round(x.gain_hops_saved)} hops saved`)),
        el("p", {}, x.reason), el("ul", {}, x.expected_effect.map(s => el("li", {}, s))))));
    } catch (e) { recs.textContent = `recommendations failed: ${e.message}`; }
    try {
      const k = await call("GET", "/api/keyperson", state, { limit: 10 });
      kp.textContent = "";
      kp.append(el("table", { class: "list" }, el("tr", {}, ["#", "actor", "name", "group", "risk", "tunnels that depend on them", ""].map(h => el("th", {}, h))),
        k.actors.map(x => el("tr", {}, el("td", {}, x.rank), el("td", {}, x.actor), el("td", {}, x.name || "–"), el("td", {}, x.group), el("td", { class: "num" }, num(x.risk)),
          el("td", {}, x.tunnels.slice(0, 3).map(s => `${pct(s.share)} ${s.src}→${s.dst}`).join(", ")),
          el("td", {}, el("button", { style: "white-space:nowrap", onclick: () => run(state, out, { remove_actors: [x.actor] }) }, "what if they left?"))))));
    } catch (e) { kp.textContent = `key-person risk failed: ${e.message}`; }
  }

  window.VNWhatIf = { actorPanel, valuemapPanel, loadRearrange };
})();
