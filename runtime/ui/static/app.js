// relay's dashboard: reads only the management API (docs/admin-api.md) and sends test
// prompts as an ordinary client would. No framework, no build step.
"use strict";
(() => {
  const KEY = "relay.adminKey";
  const CLIENT_KEY = "relay.clientKey";
  const FEED_MAX = 500;
  const FEED_SHOWN = 200;
  const STATE_EVERY_MS = 5000;
  const KEYS_ALL = 300; // up to this many keys in all, every key is shown
  const KEYS_OPEN = 3; // beyond it, providers with more keys than this start folded
  const $ = (sel) => document.querySelector(sel);
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ui = { state: null, readAt: 0, feed: [], seen: 0, errors: 0, paused: false, held: 0, selected: null,
    page: "live", expanded: new Set(), totalKeys: 0, keyWaiters: [], keyTried: Boolean(sessionStorage.getItem(KEY)), refreshTimer: null, feedDirty: false, lastError: "" };
  window.relayDashboard = ui; // for the benchmark and tests: the page's own numbers

  // ---- words (the same as console/describe.py) ---------------------------------------
  const WORDS = { ready: "ready", cooling: "cooling", exhausted: "exhausted", breaker_open: "breaker open",
    breaker_half_open: "breaker half-open", busy: "busy", disabled: "disabled", bad_key: "bad key" };
  function dur(s) {
    const w = Math.round(s);
    if (w < 60) return `${w}s`;
    if (w < 3600) return `${Math.floor(w / 60)}m${String(w % 60).padStart(2, "0")}s`;
    return `${Math.floor(w / 3600)}h${String(Math.floor((w % 3600) / 60)).padStart(2, "0")}m`;
  }
  const num = (v) => (typeof v === "number" ? v.toLocaleString("en") : v == null ? "?" : String(v));
  const money = (v) => (typeof v === "number" ? `$${v.toFixed(4)}` : "-");
  // A countdown is a span whose text is re-made each second from an absolute deadline.
  function timed(template, seconds) {
    if (typeof seconds !== "number") return esc(template.replace("{t}", ""));
    // Whole seconds, so an unchanged state renders to the same HTML and `patch` skips it.
    const until = Math.round(ui.readAt / 1000 + seconds) * 1000;
    return `<span data-until="${until}" data-fmt="${esc(template)}">${esc(template.replace("{t}", dur(seconds)))}</span>`;
  }
  function statusHtml(item) {
    const status = item.status || "unknown";
    let fmt = WORDS[status] || status;
    if (status !== "ready" && typeof item.until_s === "number") fmt += " {t}";
    if (item.reason) fmt += `: ${item.reason}`;
    return `<span class="badge st-${esc(status)}">${timed(fmt, status === "ready" ? null : item.until_s)}</span>`;
  }
  function windowHtml(w) {
    const pct = w.limit ? Math.min(100, (100 * (w.used || 0)) / w.limit) : 0;
    let fmt = w.limit != null ? `${num(w.used)}/${num(w.limit)} ${w.name}` : `${num(w.used)} ${w.name}`;
    if (typeof w.reset_s === "number") fmt += ", resets in {t}";
    if (w.limit_source === "learned") fmt += " (learned)";
    const level = pct >= 90 ? "hot" : pct >= 60 ? "warm" : "ok";
    return `<div class="win"><div class="bar"><i class="${level}" style="width:${pct.toFixed(1)}%"></i></div>${timed(fmt, w.reset_s)}</div>`;
  }
  function breakerHtml(b) {
    if (!b) return "";
    if (b.state === "open") return `<span class="badge st-breaker_open">${timed("breaker open {t}", b.open_s)}</span>`;
    if (b.state === "half_open") return `<span class="badge st-breaker_half_open">breaker half-open</span>`;
    return b.recent_failures ? `<span class="muted">breaker closed, ${b.recent_failures} recent failures</span>` : "";
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll(`#page-${ui.page} [data-until]`)) {
      const left = Math.max(0, (Number(el.dataset.until) - now) / 1000);
      el.textContent = el.dataset.fmt.replace("{t}", dur(left));
    }
  }

  // ---- connection, key and API -------------------------------------------------------
  function setConn(kind, text) {
    const el = $("#conn");
    el.className = `conn ${kind}`;
    el.textContent = text;
  }
  function notice(text) {
    const el = $("#notice");
    el.hidden = !text;
    el.textContent = text || "";
  }
  class ApiError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
  }
  function authHeaders(key) {
    return key ? { authorization: `Bearer ${key}` } : {};
  }
  // A 401 only counts against the key its request carried: the answer to a request sent
  // before a key was typed (a poll, the event stream) must not throw the new key away.
  function stale(sentKey) {
    return sessionStorage.getItem(KEY) !== sentKey;
  }
  function askKey(message) {
    $("#key-message").textContent = message;
    $("#key-overlay").hidden = false;
    $("#key-input").focus();
    return new Promise((resolve) => ui.keyWaiters.push(resolve));
  }
  function refused() {
    sessionStorage.removeItem(KEY);
    setConn("bad", "admin key needed");
    return askKey(ui.keyTried ? "That admin key was refused (401). Enter one of server.admin.keys." : "This relay asks for an admin key (one of server.admin.keys).");
  }
  async function api(path, opts = {}) {
    let resp, key;
    do {
      key = sessionStorage.getItem(KEY);
      try {
        resp = await fetch(path, { ...opts, headers: { ...authHeaders(key), ...(opts.headers || {}) }, cache: "no-store" });
      } catch (e) {
        setConn("bad", "relay unreachable");
        notice("relay is not reachable: is `relay run` still running? Retrying every few seconds.");
        throw new ApiError(0, "relay is not reachable");
      }
    } while (resp.status === 401 && stale(key)); // a key was typed meanwhile: again with it
    if (resp.status === 401) {
      refused();
      throw new ApiError(401, "admin key refused");
    }
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) throw new ApiError(resp.status, (body && body.error && body.error.message) || resp.statusText, body);
    return body;
  }
  ui.api = api; // editor.js (the Chains page's editor) talks through the same key handling
  ui.esc = esc;
  ui.refreshState = () => loadState();

  // ---- state -------------------------------------------------------------------------
  async function loadState() {
    try {
      const state = await api("/admin/state");
      ui.state = state;
      ui.readAt = Date.now();
      setConn("ok", `live · ${state.relay ? "relay " + state.relay.version : "relay"}`);
      notice(state.state_backend && state.state_backend.degraded ? "State backend degraded: Redis is unreachable, each worker counts on its own until it is back." : "");
      if (ui.page === "live") renderLive();
      if (ui.page === "chains") renderChains();
      fillChainPickers();
    } catch (e) {
      if (e.status === 404) {
        setConn("bad", "no management API");
        $("#live-chains").innerHTML = `<p class="empty">This relay does not serve /admin/state (404): it is older than the dashboard.</p>`;
      } else if (e.status && e.status !== 401) {
        $("#live-chains").innerHTML = `<p class="empty">/admin/state answered ${e.status}: ${esc(e.message)}</p>`;
      }
    }
  }
  function soonState(ms) {
    if (ui.refreshTimer) return;
    ui.refreshTimer = setTimeout(() => { ui.refreshTimer = null; loadState(); }, ms);
  }

  function renderLive() {
    const s = ui.state;
    if (!s) return;
    const started = performance.now();
    const relay = s.relay || {}, art = s.artifact || {}, backend = s.state_backend || {};
    $("#live-summary").innerHTML = [
      `<b>relay ${esc(relay.version)}</b>`,
      `up ${timedUp(relay.uptime_s)}`,
      `build <code>${esc(String(art.source_hash || "?").slice(0, 19))}</code>`,
      `state ${esc(backend.backend || "?")}${backend.degraded ? ' <span class="badge st-exhausted">degraded</span>' : ""}`,
      `requests seen <b id="seen">${ui.seen}</b>, errors <b id="errs">${ui.errors}</b>`,
    ].join(" · ");
    const chains = s.chains || [];
    patch($("#live-chains"), chains.length ? chains.map(chainHtml)
      : [`<p class="empty">This relay serves 0 chains: define some in chains/ and run <code>relay build</code>; it reloads by itself.</p>`]);
    const providers = s.providers || [];
    ui.totalKeys = providers.reduce((n, p) => n + (p.keys || []).length, 0);
    patch($("#live-providers"), providers.length ? providers.map(providerHtml) : [`<p class="empty">No providers.</p>`]);
    ui.renderMs = performance.now() - started;
  }
  // Replace only the cards whose HTML changed: a refresh of a large, mostly quiet relay
  // touches a few elements instead of thousands.
  function patch(container, parts) {
    const old = container.relayParts;
    container.relayParts = parts;
    if (!old || old.length !== parts.length || container.children.length !== parts.length) {
      container.innerHTML = parts.join("");
      return;
    }
    for (let i = 0; i < parts.length; i++) if (old[i] !== parts[i]) container.children[i].outerHTML = parts[i];
  }
  function timedUp(seconds) {
    return typeof seconds === "number" ? dur(seconds) : "?";
  }
  function chainHtml(c) {
    const q = c.queue || {};
    const queue = q.max_depth != null ? `queue ${q.depth || 0}/${q.max_depth}${q.scope === "worker" ? " (this worker)" : ""}` : "";
    const steps = (c.steps || []).map((st) => `<li class="step st-${esc(st.status)}">
        <div class="prov">${esc(st.provider)}/<b>${esc(st.alias || st.model)}</b></div>
        <div>${statusHtml(st)}</div>
        <div class="muted">keys ready ${esc(st.keys_ready)}/${esc(st.keys)}</div></li>`).join("");
    return `<article class="chain" data-chain="${esc(c.name)}"><header><h3>${esc(c.name)}</h3>
      <span class="muted">${esc(c.strategy)}${c.match && c.match.length ? " · match " + esc(c.match.join(", ")) : ""} · ${queue}</span></header>
      <ol class="steps">${steps}</ol></article>`;
  }
  function providerHtml(p) {
    if (p.enabled === false) {
      return `<article class="provider off"><header><h3>${esc(p.name)}</h3><span class="badge st-disabled">disabled: ${esc(p.disabled_reason || "")}</span></header></article>`;
    }
    const h = p.health || {};
    const health = typeof h.latency_ms === "number" ? `latency ${Math.round(h.latency_ms)} ms · ttfb ${Math.round(h.ttfb_ms || 0)} ms · errors ${Math.round(100 * (h.error_rate || 0))}%` : "";
    const all = p.keys || [];
    const open = all.length <= KEYS_OPEN || ui.expanded.has(p.name) || ui.totalKeys <= KEYS_ALL;
    const keys = open ? all.map(keyHtml).join("") : keySummary(all);
    const toggle = all.length > KEYS_OPEN && ui.totalKeys > KEYS_ALL
      ? `<button type="button" class="link" data-toggle="${esc(p.name)}">${open ? "fold keys" : `show ${all.length} keys`}</button>` : "";
    return `<article class="provider"><header><h3>${esc(p.name)}</h3><span class="muted">${[esc(p.api), health].filter(Boolean).join(" · ")}</span> ${breakerHtml(p.breaker)} ${toggle}</header>${keys}</article>`;
  }
  function keyHtml(k) {
    return `<div class="key"><div class="keyname">${esc(k.name || k.id || "key")} <span class="muted">${esc(k.fingerprint)}</span></div>
        <div>${statusHtml(k)} ${breakerHtml(k.breaker)}</div>
        <div class="wins">${(k.windows || []).map(windowHtml).join("")}</div></div>`;
  }
  // A folded provider: its keys counted by state, and for each window the fullest key's bar.
  function keySummary(keys) {
    const counts = {}, fullest = {};
    for (const k of keys) {
      counts[k.status] = (counts[k.status] || 0) + 1;
      for (const w of k.windows || []) {
        const f = fullest[w.name];
        if (!f || (w.limit && (w.used || 0) / w.limit > (f.used || 0) / (f.limit || Infinity))) fullest[w.name] = w;
      }
    }
    const states = Object.entries(counts).map(([st, n]) => `<span class="badge st-${esc(st)}">${n} ${esc(WORDS[st] || st)}</span>`).join(" ");
    return `<div class="key"><div class="keyname">${keys.length} keys</div><div>${states}</div>
      <div class="wins">${Object.values(fullest).map(windowHtml).join("")}</div></div>`;
  }

  // ---- events --------------------------------------------------------------------------
  class SseParser {
    constructor() { this.buf = ""; this.name = ""; this.data = []; }
    feed(text) {
      this.buf += text;
      const out = [];
      for (;;) {
        const m = /\r\n|\n|\r/.exec(this.buf);
        if (!m || (m[0] === "\r" && m.index + 1 === this.buf.length)) return out;
        const line = this.buf.slice(0, m.index);
        this.buf = this.buf.slice(m.index + m[0].length);
        if (line === "") {
          if (this.data.length) out.push([this.name || "message", this.data.join("\n")]);
          this.name = "";
          this.data = [];
        } else if (!line.startsWith(":")) {
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          let value = i < 0 ? "" : line.slice(i + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "event") this.name = value;
          else if (field === "data") this.data.push(value);
        }
      }
    }
  }
  async function followEvents() {
    for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
      try {
        const key = sessionStorage.getItem(KEY);
        const resp = await fetch("/admin/events", { headers: authHeaders(key), cache: "no-store" });
        if (resp.status === 401) { if (!stale(key)) await refused(); wait = 500; continue; }
        if (!resp.ok) {
          $("#feed-note").textContent = `live events not available (${resp.status}); the state still refreshes every ${STATE_EVERY_MS / 1000}s`;
        } else {
          $("#feed-note").textContent = "live";
          wait = 1000;
          const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
          const parser = new SseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const [name, data] of parser.feed(value)) onEvent(name, data);
          }
          $("#feed-note").textContent = "event stream ended; reconnecting";
        }
      } catch (e) {
        $("#feed-note").textContent = "event stream lost; reconnecting";
      }
      await sleep(wait);
    }
  }
  function onEvent(name, text) {
    let data;
    try { data = JSON.parse(text); } catch (e) { return; }
    if (name === "request") {
      ui.seen += 1;
      if (typeof data.status === "number" && data.status >= 400) ui.errors += 1;
      const seen = $("#seen"), errs = $("#errs");
      if (seen) seen.textContent = ui.seen;
      if (errs) errs.textContent = ui.errors;
      if (ui.paused) { ui.held += 1; $("#feed-pause").textContent = `Resume (${ui.held} held)`; return; }
      ui.feed.unshift(data);
      if (ui.feed.length > FEED_MAX) ui.feed.length = FEED_MAX;
      scheduleFeed();
      // Windows moved: re-read the state soon, but never let re-rendering a large relay
      // take more than a fifth of the page's time.
      soonState(Math.max(1000, 5 * (ui.renderMs || 0)));
    } else if (name === "state") {
      soonState(150);
    }
  }
  function scheduleFeed() {
    if (ui.feedDirty) return;
    ui.feedDirty = true;
    // At most four redraws a second: faster than anyone reads, cheap at 100 events a second.
    setTimeout(() => { ui.feedDirty = false; if (ui.page === "requests") renderFeed(); }, 250);
  }
  function renderFeed() {
    const only = $("#feed-chain").value;
    const rows = ui.feed.filter((r) => !only || r.chain === only).slice(0, FEED_SHOWN);
    $("#feed tbody").innerHTML = rows.length ? rows.map((r) => {
      const t = r.tokens || {};
      const ok = typeof r.status === "number" && r.status < 400;
      return `<tr data-id="${esc(r.id)}" class="${r.id === ui.selected ? "sel" : ""}"><td>${new Date((r.at || 0) * 1000).toLocaleTimeString()}</td>
        <td>${esc(r.chain)}</td><td>${esc(r.provider || "-")}</td><td class="${ok ? "good" : "badtext"}">${esc(r.status)}</td>
        <td>${Math.round(r.latency_ms || 0)} ms</td><td>${esc(t.total ?? "-")}</td><td>${money(r.cost_usd)}</td><td>${money(r.saved_usd)}</td>
        <td>${(r.attempts || []).length}${(r.skipped || []).length ? ` (+${r.skipped.length} skipped)` : ""}</td></tr>`;
    }).join("") : `<tr class="empty"><td colspan="9">No requests yet: they appear here as relay finishes them.</td></tr>`;
  }
  function showRequest(id) {
    const r = ui.feed.find((x) => x.id === id);
    if (!r) return;
    ui.selected = id;
    const attempts = (r.attempts || []).map((a, i) => `<tr><td>${i + 1}</td><td>${esc(a.provider)}/${esc(a.model)}</td><td>${esc(a.outcome)}</td><td>${esc(a.status ?? "")}</td><td>${Math.round(a.ms || 0)} ms</td><td>${esc(a.detail || "")}</td></tr>`).join("");
    const skipped = (r.skipped || []).map((s) => `<tr><td>${esc(s.provider)}/${esc(s.model)}</td><td>${esc(s.reason)}</td><td>${typeof s.until_s === "number" ? dur(s.until_s) : ""}</td></tr>`).join("");
    const t = r.tokens || {};
    $("#request-detail").innerHTML = `<h3>${esc(r.id)}</h3>
      <p>${esc(r.format)} client asked for <b>${esc(r.model)}</b> → chain <b>${esc(r.chain)}</b>; answered by <b>${esc(r.provider || "nobody")}</b> (${esc(r.upstream_model || "-")}), status ${esc(r.status)}${r.stream ? ", streamed" : ""}.</p>
      <p>latency ${Math.round(r.latency_ms || 0)} ms · first byte ${Math.round(r.ttfb_ms || 0)} ms · queued ${Math.round(r.queued_ms || 0)} ms · tokens in ${esc(t.input ?? "-")} / out ${esc(t.output ?? "-")} · cost ${money(r.cost_usd)} · saved ${money(r.saved_usd)}</p>
      <h4>Attempts</h4>${attempts ? `<table class="grid"><tr><th>#</th><th>step</th><th>outcome</th><th>status</th><th>time</th><th>detail</th></tr>${attempts}</table>` : "<p class='muted'>none</p>"}
      <h4>Skipped steps</h4>${skipped ? `<table class="grid"><tr><th>step</th><th>why</th><th>for</th></tr>${skipped}</table>` : "<p class='muted'>none</p>"}`;
    renderFeed();
  }

  // ---- usage ---------------------------------------------------------------------------
  const charts = [];
  function groupTime(g) {
    if (typeof g === "number") return g;
    const t = Date.parse(g);
    return Number.isNaN(t) ? null : t / 1000;
  }
  function usageTable(data) {
    const rows = (data.rows || []).map((r) => `<tr><td>${esc(r.group)}</td><td>${num(r.requests)}</td><td>${num(r.errors)}</td>
      <td>${r.requests ? Math.round((100 * (r.requests - (r.errors || 0))) / r.requests) : 0}%</td>
      <td>${num(r.input_tokens)}</td><td>${num(r.output_tokens)}</td><td>${Math.round(r.latency_ms_p50 || 0)} ms</td>
      <td>${money(r.cost_usd)}</td><td>${money(r.saved_usd)}</td></tr>`).join("");
    return rows ? `<table class="grid"><tr><th></th><th>requests</th><th>errors</th><th>success</th><th>input tokens</th><th>output tokens</th><th>latency p50</th><th>cost</th><th>saved</th></tr>${rows}</table>` : `<p class="muted">nothing in this period</p>`;
  }
  // The y axis as wide as its longest label (a fixed width clipped "1,000,000" to "000,000").
  function axisSize(u, values, axisIdx, cycleNum) {
    const axis = u.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
    u.ctx.font = axis.font[0];
    return Math.ceil(axis.ticks.size + axis.gap + u.ctx.measureText(longest).width / uPlot.pxRatio) + 4;
  }
  function chart(el, title, xs, series, yRange) {
    const width = Math.max(320, el.clientWidth || 800);
    const scales = yRange ? { y: { range: yRange } } : {};
    charts.push(new uPlot({ title, width, height: 220, scales, series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      axes: [{}, { size: axisSize }] }, [xs, ...series.map((s) => s.values)], el));
  }
  async function loadUsage() {
    const since = $("#usage-since").value, by = $("#usage-by").value;
    const q = (b) => api(`/admin/usage?since=${encodeURIComponent(since)}&by=${b}`);
    for (const c of charts.splice(0)) c.destroy();
    for (const id of ["#usage-totals", "#usage-providers", "#usage-chains"]) $(id).innerHTML = "";
    let time, prov, chain;
    try {
      [time, prov, chain] = await Promise.all([q(by), q("provider"), q("chain")]);
    } catch (e) {
      $("#usage-message").innerHTML = e.status === 404
        ? `<p class="empty">Usage store not available: this relay keeps no usage history (see server.usage), or it is older than the dashboard.</p>`
        : `<p class="empty">Usage could not be read: ${esc(e.message)}</p>`;
      return;
    }
    $("#usage-store").textContent = time.store ? `this relay's store: ${time.store}` : "";
    const t = time.totals || {};
    if (!t.requests) {
      $("#usage-message").innerHTML = `<p class="empty">No requests recorded in this period yet. Send one from the Test console.</p>`;
      return;
    }
    $("#usage-message").innerHTML = time.dropped_rows ? `<p class="notice">${num(time.dropped_rows)} rows were dropped (the writer's queue was full).</p>` : "";
    $("#usage-totals").innerHTML = `<b>${num(t.requests)}</b> requests · ${num(t.errors)} errors · ${num(t.input_tokens)} input / ${num(t.output_tokens)} output tokens · cost <b>${money(t.cost_usd)}</b> · list price ${money(t.list_cost_usd)} · saved <b class="good">${money(t.saved_usd)}</b>`;
    // One point per bucket across the whole period, empty buckets as 0, so the axis is the period.
    const step = by === "day" ? 86400 : 3600;
    const byTime = new Map((time.rows || []).map((r) => [groupTime(r.group), r]));
    const xs = [];
    for (let x = Math.floor(time.since / step) * step; x <= time.until && xs.length < 2000; x += step) xs.push(x);
    const pick = (key) => xs.map((x) => (byTime.get(x) || {})[key] || 0);
    if (xs.length && window.uPlot) {
      chart($("#usage-chart"), "requests", xs, [
        { label: "requests", color: "#3a7bd5", values: pick("requests") },
        { label: "errors", color: "#d9534f", values: pick("errors") },
      ]);
      chart($("#usage-tokens-chart"), "tokens", xs, [
        { label: "input", color: "#5cb85c", values: pick("input_tokens") },
        { label: "output", color: "#f0ad4e", values: pick("output_tokens") },
      ]);
    }
    $("#usage-providers").innerHTML = usageTable(prov);
    $("#usage-chains").innerHTML = usageTable(chain);
    if (xs.length && window.uPlot) await usageSplit(since, by, xs, prov, chain);
  }
  const PALETTE = ["#3a7bd5", "#5cb85c", "#f0ad4e", "#d9534f", "#8e6bbf", "#2bb3a3", "#c7792f", "#6c757d"];
  // Over time per provider and per chain: one filtered /admin/usage query per group (the
  // busiest eight), so every line is the store's own aggregate, empty buckets left as gaps.
  async function usageSplit(since, by, xs, prov, chain) {
    const series = async (kind, rows) => {
      const groups = (rows.rows || []).slice().sort((a, b) => b.requests - a.requests).slice(0, 8).map((r) => r.group)
        .filter((g) => g && g !== "-");
      const answers = await Promise.all(groups.map((g) =>
        api(`/admin/usage?since=${encodeURIComponent(since)}&by=${by}&${kind}=${encodeURIComponent(g)}`).catch(() => null)));
      return groups.map((g, i) => {
        const m = new Map(((answers[i] || {}).rows || []).map((r) => [groupTime(r.group), r]));
        return { label: g, color: PALETTE[i % PALETTE.length], at: (x) => m.get(x) };
      });
    };
    const [ps, cs] = await Promise.all([series("provider", prov), series("chain", chain)]);
    const line = (list, f) => list.map((s) => ({ label: s.label, color: s.color, values: xs.map((x) => { const r = s.at(x); return r ? f(r) : null; }) }));
    const rate = (r) => (r.requests ? Math.round((1000 * (r.requests - (r.errors || 0))) / r.requests) / 10 : null);
    if (ps.length) {
      chart($("#usage-provider-requests"), "requests by provider", xs, line(ps, (r) => r.requests));
      chart($("#usage-provider-success"), "success rate by provider (%)", xs, line(ps, rate), [0, 100]);
      chart($("#usage-provider-latency"), "latency p50 by provider (ms)", xs, line(ps, (r) => r.latency_ms_p50));
    }
    if (cs.length) {
      chart($("#usage-chain-requests"), "requests by chain", xs, line(cs, (r) => r.requests));
      chart($("#usage-chain-success"), "success rate by chain (%)", xs, line(cs, rate), [0, 100]);
      chart($("#usage-chain-latency"), "latency p50 by chain (ms)", xs, line(cs, (r) => r.latency_ms_p50));
    }
  }

  // ---- chains --------------------------------------------------------------------------
  function renderChains() {
    const s = ui.state;
    if (!s) return;
    const a = s.artifact || {};
    const built = typeof a.built_at === "number" ? new Date(a.built_at * 1000).toLocaleString() : "?";
    const last = a.last_reload ? ` · last reload ${esc(a.last_reload.outcome)}${a.last_reload.detail ? ": " + esc(a.last_reload.detail) : ""}` : "";
    $("#artifact").innerHTML = `artifact <code>${esc(a.source_hash)}</code> · manifest <code>${esc(a.manifest_hash)}</code> · built ${esc(built)} · reloads ${esc(a.reloads ?? 0)}${last}`;
    const chains = s.chains || [];
    $("#chains-list").innerHTML = chains.length ? `<table class="grid"><tr><th>chain</th><th>strategy</th><th>match</th><th>steps</th></tr>${chains.map((c) =>
      `<tr class="clickable" data-chain="${esc(c.name)}"><td><b>${esc(c.name)}</b></td><td>${esc(c.strategy)}</td><td>${esc((c.match || []).join(", "))}</td><td>${(c.steps || []).map((st) => esc(`${st.provider}/${st.alias || st.model}`)).join(" → ")}</td></tr>`).join("")}</table>`
      : `<p class="empty">This relay serves 0 chains.</p>`;
  }
  async function showChain(name) {
    const out = $("#chain-detail");
    out.hidden = false;
    try { out.textContent = JSON.stringify(await api(`/admin/chains/${encodeURIComponent(name)}`), null, 2); }
    catch (e) { out.textContent = e.status === 404 ? `/admin/chains/${name} is not served by this relay (404).` : `could not read the chain: ${e.message}`; }
  }
  async function reloadNow() {
    $("#reload-out").textContent = "reloading…";
    try {
      const r = await api("/admin/reload", { method: "POST" });
      $("#reload-out").textContent = `${r.outcome}${r.detail ? ": " + r.detail : ""}`;
      loadState();
    } catch (e) { $("#reload-out").textContent = `reload failed: ${e.message}`; }
  }
  async function explain(ev) {
    ev.preventDefault();
    const model = $("#explain-model").value.trim();
    const out = $("#explain-out");
    out.hidden = false;
    if (!model) { out.textContent = "Type a model name as a client would send it."; return; }
    try {
      const r = await api(`/admin/explain?model=${encodeURIComponent(model)}`);
      out.textContent = typeof r.text === "string" ? r.text : JSON.stringify(r, null, 2);
    } catch (e) { out.textContent = e.status === 404 && !e.message.includes(model) ? "/admin/explain is not served by this relay (404)." : e.message; }
  }

  // ---- test console --------------------------------------------------------------------
  function fillChainPickers() {
    const names = (ui.state.chains || []).map((c) => c.name);
    const list = $("#console-models");
    if (list.dataset.names !== names.join(",")) {
      list.dataset.names = names.join(",");
      list.innerHTML = names.map((n) => `<option value="${esc(n)}">`).join("");
      const pick = $("#feed-chain"), chosen = pick.value;
      pick.innerHTML = `<option value="">all</option>` + names.map((n) => `<option>${esc(n)}</option>`).join("");
      pick.value = names.includes(chosen) ? chosen : "";
    }
    if (!$("#console-model").value && names.length) $("#console-model").value = names[0];
  }
  // One streamed payload of either format → { text, usage: {input, output}, failure, done }.
  function chatChunk(chunk) {
    if (chunk.error) return { failure: chunk.error.message || "the stream ended with an error" };
    const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
    const u = chunk.usage;
    return { text: delta && delta.content, usage: u && { input: u.prompt_tokens, output: u.completion_tokens } };
  }
  function responsesEvent(ev) {
    if (ev.type === "response.output_text.delta") return { text: ev.delta };
    if (ev.type === "error") return { failure: ev.message || "the stream ended with an error", done: true };
    const r = ev.response || {};
    const u = r.usage && { input: r.usage.input_tokens, output: r.usage.output_tokens };
    if (ev.type === "response.failed") return { failure: (r.error && r.error.message) || "the response failed", usage: u, done: true };
    if (ev.type === "response.completed" || ev.type === "response.incomplete") return { usage: u, done: true };
    return {};
  }
  let consoleAbort = null;
  async function sendTest(ev) {
    ev.preventDefault();
    const model = $("#console-model").value.trim(), prompt = $("#console-prompt").value;
    const clientKey = $("#console-client-key").value;
    sessionStorage.setItem(CLIENT_KEY, clientKey);
    const out = $("#console-out"), meta = $("#console-meta");
    out.textContent = "";
    out.className = "out answer";
    meta.innerHTML = "<dt>status</dt><dd>sending…</dd>";
    const headers = { "content-type": "application/json", ...(clientKey ? { authorization: `Bearer ${clientKey}` } : {}) };
    const responses = $("#console-format").value === "responses";
    const body = responses
      ? { model, stream: true, store: false, max_output_tokens: 512, input: prompt }
      : { model, stream: true, stream_options: { include_usage: true }, max_tokens: 512, messages: [{ role: "user", content: prompt }] };
    consoleAbort = new AbortController();
    $("#console-send").disabled = true;
    $("#console-stop").disabled = false;
    const t0 = performance.now();
    let first = null, usage = null, info = {}, failure = "";
    try {
      const path = responses ? "/v1/responses" : "/v1/chat/completions";
      const resp = await fetch(path, { method: "POST", headers, body: JSON.stringify(body), signal: consoleAbort.signal });
      info = { status: resp.status, provider: resp.headers.get("x-relay-provider"), chain: resp.headers.get("x-relay-chain"),
        attempts: resp.headers.get("x-relay-attempts"), skipped: resp.headers.get("x-relay-skipped"), id: resp.headers.get("x-request-id") };
      if (!resp.ok) {
        let msg = resp.statusText;
        try { const j = await resp.json(); msg = (j.error && j.error.message) || msg; } catch (e) { /* not JSON */ }
        failure = resp.status === 401 ? `401: ${msg} (this relay wants a client key: fill in "Client key")` : `${resp.status}: ${msg}`;
      } else {
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (let done = false; !done;) {
          const part = await reader.read();
          if (part.done) break;
          for (const [, data] of parser.feed(part.value)) {
            if (data === "[DONE]") { done = true; break; }
            let chunk;
            try { chunk = JSON.parse(data); } catch (e) { continue; }
            const step = responses ? responsesEvent(chunk) : chatChunk(chunk);
            if (step.failure) failure = step.failure;
            if (step.text) {
              if (first === null) first = performance.now() - t0;
              out.textContent += step.text;
            }
            if (step.usage) usage = step.usage;
            if (step.done) { done = true; break; }
          }
        }
      }
    } catch (e) {
      failure = e.name === "AbortError" ? "stopped" : "relay is not reachable";
    }
    const total = performance.now() - t0;
    if (failure) { out.className = "out answer failed"; out.textContent += (out.textContent ? "\n\n" : "") + failure; }
    const row = (k, v) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`;
    meta.innerHTML = [
      row("status", info.status ?? "-"), row("provider", info.provider || "none"), row("chain", info.chain || "-"),
      row("attempts", info.attempts || "-"), row("skipped", info.skipped || "none"),
      row("latency", `${Math.round(total)} ms${first !== null ? ` (first token ${Math.round(first)} ms)` : ""}`),
      row("tokens", usage ? `${usage.input} in, ${usage.output} out` : "-"), row("request id", info.id || "-"),
    ].join("");
    meta.dataset.provider = info.provider || "";
    $("#console-send").disabled = false;
    $("#console-stop").disabled = true;
  }

  // ---- pages and start -----------------------------------------------------------------
  function showPage() {
    const page = (location.hash || "#live").slice(1);
    ui.page = document.getElementById(`page-${page}`) ? page : "live";
    for (const el of document.querySelectorAll(".page")) el.hidden = el.id !== `page-${ui.page}`;
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("on", a.dataset.page === ui.page);
    if (ui.page === "live") renderLive();
    if (ui.page === "chains") { renderChains(); if (ui.openEditor) ui.openEditor(); }
    if (ui.page === "requests") renderFeed();
    if (ui.page === "usage") loadUsage();
  }
  function start() {
    $("#key-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const key = $("#key-input").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      ui.keyTried = true;
      $("#key-input").value = "";
      $("#key-overlay").hidden = true;
      $("#forget-key").hidden = false;
      for (const resolve of ui.keyWaiters.splice(0)) resolve();
      loadState();
      if (ui.page === "usage") loadUsage();
    });
    $("#forget-key").hidden = !sessionStorage.getItem(KEY);
    $("#forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY); location.reload(); });
    $("#feed-pause").addEventListener("click", () => {
      ui.paused = !ui.paused;
      ui.held = 0;
      $("#feed-pause").textContent = ui.paused ? "Resume" : "Pause";
      renderFeed();
    });
    $("#feed-chain").addEventListener("change", renderFeed);
    $("#feed tbody").addEventListener("click", (ev) => { const tr = ev.target.closest("tr[data-id]"); if (tr) showRequest(tr.dataset.id); });
    $("#live-providers").addEventListener("click", (ev) => {
      const name = ev.target.dataset && ev.target.dataset.toggle;
      if (!name) return;
      if (ui.expanded.has(name)) ui.expanded.delete(name); else ui.expanded.add(name);
      renderLive();
    });
    $("#chains-list").addEventListener("click", (ev) => { const tr = ev.target.closest("tr[data-chain]"); if (tr) showChain(tr.dataset.chain); });
    $("#explain-form").addEventListener("submit", explain);
    $("#reload").addEventListener("click", reloadNow);
    $("#usage-refresh").addEventListener("click", loadUsage);
    $("#usage-since").addEventListener("change", loadUsage);
    $("#usage-by").addEventListener("change", loadUsage);
    $("#console-form").addEventListener("submit", sendTest);
    $("#console-stop").addEventListener("click", () => consoleAbort && consoleAbort.abort());
    $("#console-client-key").value = sessionStorage.getItem(CLIENT_KEY) || "";
    window.addEventListener("hashchange", showPage);
    showPage();
    loadState();
    setInterval(loadState, STATE_EVERY_MS);
    setInterval(tick, 1000);
    followEvents();
  }
  start();
})();
