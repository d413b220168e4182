// The Chains page's editor: edits the definition files the running build was made from,
// through /admin/definitions* (docs/admin-api.md). The server does every edit (ruamel.yaml
// round trip) and every check; this page keeps only the draft: the full text of each file
// that differs from disk. Structured edits are applied to the draft by the server's preview
// and come back as text, so the YAML view and the forms always show the same draft.
"use strict";
(() => {
  const ui = window.relayDashboard;
  const esc = ui.esc;
  const $ = (sel) => document.querySelector(sel);
  const CHECK_AFTER_MS = 400;
  const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
  const ed = { base: null, drafts: {}, outline: null, file: "", chain: "", diags: [], timer: null, checking: 0, opened: false };
  ui.editor = ed; // for tests: the page's own state

  const post = (action, body) => ui.api(`/admin/definitions/${action}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const baseText = (rel) => ((ed.base.files.find((f) => f.path === rel) || {}).text ?? "");
  const text = (rel) => (rel in ed.drafts ? ed.drafts[rel] : baseText(rel));
  const list = (value) => value.split(",").map((v) => v.trim()).filter(Boolean);
  function pairs(value, number) {
    const out = {};
    for (const item of list(value)) {
      const [k, ...rest] = item.split("=");
      const v = rest.join("=").trim();
      if (!k.trim() || !v) throw new Error(`"${item}" is not name=value`);
      out[k.trim()] = number && /^\d+$/.test(v) ? Number(v) : v;
    }
    return out;
  }
  function result(message, kind = "") {
    const el = $("#ed-result");
    el.className = kind;
    el.textContent = message;
  }

  async function load() {
    try {
      ed.base = await ui.api("/admin/definitions");
    } catch (e) {
      if (e.status === 401) { ui.keyWaiters.push(load); return; } // again once a key is typed
      $("#ed-status").innerHTML = `<span class="badtext">The editor is not available: ${esc(e.message)}</span>`;
      return;
    }
    ed.drafts = {};
    ed.outline = ed.base.outline;
    ed.file = ed.base.files.some((f) => f.path === ed.file) ? ed.file : (ed.base.files[0] || {}).path || "";
    status();
    render();
    check();
  }
  function status() {
    const b = ed.base;
    const where = `Editing <code>${esc(b.source_dir)}</code> · files <code>${esc(b.etag.slice(0, 19))}</code>`;
    const drift = b.etag !== b.built_etag ? ` · <span class="badtext">the files differ from the running build</span>` : "";
    const ro = b.writable ? "" : ` · <span class="badtext" id="ed-readonly">read-only: ${esc(b.read_only_reason)}; preview and download the diff to apply it where the files are kept</span>`;
    const pending = Object.keys(ed.drafts).length ? ` · unsaved: ${esc(Object.keys(ed.drafts).join(", "))}` : "";
    $("#ed-status").innerHTML = where + drift + ro + pending;
    $("#ed-save").disabled = !b.writable;
  }

  // ---- structured view -------------------------------------------------------------------
  function render() {
    const o = ed.outline || { chains: {}, providers: {}, models: [] };
    const names = Object.keys(o.chains);
    if (!names.includes(ed.chain)) ed.chain = names.includes("free") ? "free" : names[0] || "";
    $("#ed-chain").innerHTML = names.map((n) => `<option${n === ed.chain ? " selected" : ""}>${esc(n)}</option>`).join("");
    const chain = o.chains[ed.chain] || { steps: [] };
    const steps = Array.isArray(chain.steps) ? chain.steps : [];
    $("#ed-steps").innerHTML = steps.map((s, i) => `<li data-index="${i}"><span>${esc(s)}</span>
      <button type="button" data-move="-1" title="earlier"${i === 0 ? " disabled" : ""}>↑</button>
      <button type="button" data-move="1" title="later"${i === steps.length - 1 ? " disabled" : ""}>↓</button>
      <button type="button" data-remove title="remove">✕</button></li>`).join("");
    $("#ed-strategy").value = chain.strategy || "";
    $("#ed-match").value = (chain.match || []).join(", ");
    $("#ed-queue-wait").value = (chain.queue && chain.queue.max_wait) || "";
    $("#ed-prov-names").innerHTML = Object.keys(o.providers).map((n) => `<option value="${esc(n)}">`).join("");
    $("#ed-step-options").innerHTML = Object.keys(o.providers).flatMap((p) => o.models.map((m) => `<option value="${esc(p)}/${esc(m)}">`)).join("");
    $("#ed-file").innerHTML = ed.base.files.map((f) => f.path).concat(Object.keys(ed.drafts).filter((r) => !ed.base.files.some((f) => f.path === r)))
      .map((r) => `<option value="${esc(r)}"${r === ed.file ? " selected" : ""}>${esc(r)}${r in ed.drafts ? " (changed)" : ""}</option>`).join("");
    $("#ed-file").value = ed.file;
    const area = $("#ed-yaml");
    if (area.value !== text(ed.file)) area.value = text(ed.file);
    gutter();
  }
  // One structured edit, applied by the server to the current draft; the draft becomes its answer.
  async function edit(change) {
    result("applying…");
    try {
      const r = await post("preview", { files: ed.drafts, edits: [change] });
      ed.drafts = r.files;
      ed.outline = r.outline;
      status();
      render();
      showPreview(r);
    } catch (e) {
      result(e.message, "badtext");
    }
  }
  function chainFields() {
    const chain = (ed.outline.chains[ed.chain]) || {};
    const fields = {};
    const strategy = $("#ed-strategy").value || null;
    if (strategy !== (chain.strategy || null)) fields.strategy = strategy;
    const match = list($("#ed-match").value);
    if (match.join(",") !== (chain.match || []).join(",")) fields.match = match.length ? match : null;
    const wait = $("#ed-queue-wait").value.trim();
    if (wait !== ((chain.queue && chain.queue.max_wait) || "")) fields.queue = wait ? { ...(chain.queue || {}), max_wait: wait } : null;
    return fields;
  }
  function providerEdit() {
    const name = $("#ed-prov-name").value.trim();
    if (!name) throw new Error("name the provider");
    const fields = { api: $("#ed-prov-api").value };
    const url = $("#ed-prov-url").value.trim();
    if (url) fields.base_url = url;
    const vars = list($("#ed-prov-keys").value);
    for (const v of vars) {
      if (!ENV_NAME.test(v)) throw new Error("Key variables: give the NAME of an environment variable (like MISTRAL_API_KEY), never a key itself");
    }
    const optional = $("#ed-prov-optional").checked ? ":-" : "";
    if (vars.length) fields.keys = vars.map((v) => `\${${v}${optional}}`);
    if ($("#ed-prov-limits").value.trim()) fields.limits = pairs($("#ed-prov-limits").value, true);
    if ($("#ed-prov-headers").value.trim()) fields.headers = pairs($("#ed-prov-headers").value, false);
    return { op: "set_provider", provider: name, fields };
  }
  function modelEdit() {
    const name = $("#ed-model-name").value.trim();
    if (!name) throw new Error("name the model");
    const fields = { providers: pairs($("#ed-model-map").value, false) };
    const caps = list($("#ed-model-caps").value);
    if (caps.length) fields.capabilities = caps;
    return { op: "add_model", model: name, fields };
  }
  function guarded(make) {
    return () => {
      let change;
      try { change = make(); } catch (e) { result(e.message, "badtext"); return; }
      if (change) edit(change);
    };
  }

  // ---- YAML view ---------------------------------------------------------------------------
  function gutter() {
    const area = $("#ed-yaml");
    const lines = area.value.split("\n").length;
    const marks = {};
    for (const d of ed.diags) {
      if (d.file !== ed.file || !d.line) continue;
      const worse = marks[d.line] && marks[d.line].severity === "error";
      if (!worse) marks[d.line] = d;
    }
    const rows = [];
    for (let n = 1; n <= lines; n++) {
      const d = marks[n];
      rows.push(d ? `<span data-line="${n}" class="diag-${esc(d.severity)}" title="${esc(`${d.code} ${d.message}`)}">${n}</span>` : `<span data-line="${n}">${n}</span>`);
    }
    $("#ed-gutter").innerHTML = rows.join("");
    area.style.height = `${lines * 18 + 16}px`;
    area.style.width = `${Math.max(...area.value.split("\n").map((l) => l.length), 40) + 4}ch`;
  }
  function diagnostics() {
    $("#ed-diags").innerHTML = ed.diags.filter((d) => d.severity !== "info").map((d) =>
      `<li class="${esc(d.severity)}" data-file="${esc(d.file)}" data-line="${esc(d.line)}">${esc(d.file)}:${esc(d.line)}:${esc(d.col)} ${esc(d.severity)} ${esc(d.code)} ${esc(d.message)}${d.hint ? ` <span class="muted">hint: ${esc(d.hint)}</span>` : ""}</li>`).join("");
    gutter();
  }
  function typed() {
    const value = $("#ed-yaml").value;
    if (value === baseText(ed.file)) delete ed.drafts[ed.file]; else ed.drafts[ed.file] = value;
    gutter();
    clearTimeout(ed.timer);
    ed.timer = setTimeout(check, CHECK_AFTER_MS);
  }
  // The draft compiled on the server (never written); only the newest answer is shown.
  async function check() {
    const mine = ++ed.checking;
    $("#ed-check").textContent = "checking…";
    try {
      const r = await post("check", { files: ed.drafts });
      if (mine !== ed.checking) return;
      ed.diags = r.diagnostics;
      const s = r.summary;
      $("#ed-check").textContent = r.ok ? `compiles · ${s.warning} warnings` : `${s.error} errors · ${s.warning} warnings`;
      $("#ed-check").className = r.ok ? "good" : "badtext";
      diagnostics();
      status();
    } catch (e) {
      if (mine === ed.checking) $("#ed-check").textContent = `check failed: ${e.message}`;
    }
  }

  // ---- preview and save ----------------------------------------------------------------------
  function showPreview(r) {
    const out = $("#ed-diff");
    out.hidden = false;
    out.textContent = r.diff || "No changes.";
    const link = $("#ed-download");
    link.hidden = !r.diff;
    link.href = `data:text/x-diff;charset=utf-8,${encodeURIComponent(r.diff || "")}`;
    ed.diags = r.diagnostics || [];
    diagnostics();
    const s = r.summary || {};
    result(r.ok ? `builds · ${s.warning || 0} warnings${r.writable === false ? " · read-only here: download the diff" : ""}` : `the build would refuse this: ${s.error} errors`, r.ok ? "good" : "badtext");
  }
  async function preview() {
    try { showPreview(await post("preview", { files: ed.drafts })); } catch (e) { result(e.message, "badtext"); }
  }
  async function save() {
    result("saving…");
    const bases = Object.fromEntries(ed.base.files.map((f) => [f.path, f.sha256]));
    try {
      const r = await post("save", { files: ed.drafts, etag: ed.base.etag, bases });
      result(`saved ${r.written.join(", ") || "nothing"} · reload ${r.reload ? r.reload.outcome : "?"} · serving ${r.built_etag.slice(0, 19)}`, "good");
      $("#ed-save").dataset.saved = r.etag;
      await load();
      if (ui.refreshState) ui.refreshState();
    } catch (e) {
      const body = e.body || {};
      if (e.status === 409) result(e.message, "badtext conflict"); // it names the files that changed
      else if (e.status === 422) { ed.diags = body.diagnostics || []; diagnostics(); result(e.message, "badtext"); }
      else if (e.status === 403) { showPreview({ diff: body.diff, ok: true, summary: {}, writable: false, diagnostics: ed.diags }); result(e.message, "badtext"); }
      else result(e.message, "badtext");
    }
  }

  function start() {
    $("#ed-chain").addEventListener("change", () => { ed.chain = $("#ed-chain").value; render(); });
    $("#ed-steps").addEventListener("click", (ev) => {
      const button = ev.target.closest("button");
      const li = ev.target.closest("li[data-index]");
      if (!button || !li) return;
      const index = Number(li.dataset.index);
      if ("remove" in button.dataset) edit({ op: "remove_step", chain: ed.chain, index });
      else edit({ op: "move_step", chain: ed.chain, from: index, to: index + Number(button.dataset.move) });
    });
    $("#ed-step-add").addEventListener("click", guarded(() => {
      const step = $("#ed-step-new").value.trim();
      if (!step.includes("/")) throw new Error("a step is provider/model");
      return { op: "add_step", chain: ed.chain, step };
    }));
    $("#ed-chain-apply").addEventListener("click", guarded(() => {
      const fields = chainFields();
      if (!Object.keys(fields).length) throw new Error("nothing changed in this chain's settings");
      return { op: "set_chain", chain: ed.chain, fields };
    }));
    $("#ed-prov-name").addEventListener("change", () => {
      const p = (ed.outline.providers || {})[$("#ed-prov-name").value.trim()];
      if (!p) return;
      $("#ed-prov-api").value = p.api || "openai";
      $("#ed-prov-url").value = p.base_url || "";
      $("#ed-prov-keys").value = "";
      $("#ed-prov-keys").placeholder = p.keys ? `${p.keys} key(s) set in the file; names here replace them` : "MISTRAL_API_KEY";
      $("#ed-prov-limits").value = Object.entries(p.limits || {}).map(([k, v]) => `${k}=${v}`).join(", ");
      $("#ed-prov-headers").value = Object.entries(p.headers || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    });
    $("#ed-prov-apply").addEventListener("click", guarded(providerEdit));
    $("#ed-model-apply").addEventListener("click", guarded(modelEdit));
    $("#ed-file").addEventListener("change", () => { ed.file = $("#ed-file").value; render(); });
    $("#ed-yaml").addEventListener("input", typed);
    $("#ed-preview").addEventListener("click", preview);
    $("#ed-save").addEventListener("click", save);
    $("#ed-discard").addEventListener("click", () => { ed.drafts = {}; ed.outline = ed.base.outline; status(); render(); check(); result("draft discarded"); $("#ed-diff").hidden = true; });
    ui.openEditor = () => { if (!ed.opened) { ed.opened = true; load(); } };
    if (ui.page === "chains") ui.openEditor();
  }
  start();
})();
