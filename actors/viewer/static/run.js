// The run page: paged timeline with filters, event inspector (model exchanges), artifacts,
// code diffs between rounds, tests, failures, per-step charts, fork tree, live updates.
"use strict";

// Everything after /runs/: a run of a child evaluation is CHILD/RUN (see reports.py).
const RUN_ID = decodeURIComponent(location.pathname.slice("/runs/".length).replace(/\/+$/, ""));
const API = `/api/runs/${encodeURIComponent(RUN_ID)}`;
const PAGE = 200;
const FINAL_TYPES = new Set(["WorkflowCompleted", "WorkflowFailed"]);

const state = {
  first: null,        // lowest seq shown
  last: 0,            // highest seq shown (or scanned up to)
  lastSeq: 0,         // the log's last seq, as last known
  atEnd: false,       // the timeline reaches the log's end: live events are appended
  selected: null,
  overview: null,
  codeRound: null,
  source: null,
  generation: 0,      // bumped by every reload: answers to older requests are dropped
};

// ---- filters ----------------------------------------------------------------------------
function filterQuery() {
  const params = new URLSearchParams();
  for (const box of document.querySelectorAll("input[name=step]:checked")) params.append("step", box.value);
  const type = document.getElementById("type-filter").value;
  if (type) params.append("type", type);
  return params;
}

function wanted(row) {
  const steps = [...document.querySelectorAll("input[name=step]:checked")].map((b) => b.value);
  const type = document.getElementById("type-filter").value;
  return (!steps.length || steps.includes(row.step)) && (!type || row.type === type);
}

// ---- timeline ---------------------------------------------------------------------------
function rowNode(row) {
  const where = row.step ? `${row.step}${row.attempt ? "#" + row.attempt : ""}${row.round ? " r" + row.round : ""}` : "";
  const node = el("li", {
      id: row.seq ? `ev-${row.seq}` : undefined,
      className: `event type-${row.type}`,
      dataset: { seq: row.seq ?? "", type: row.type },
      tabindex: 0,
      onclick: () => row.seq && selectEvent(row.seq, true),
      onkeydown: (e) => { if (e.key === "Enter" && row.seq) selectEvent(row.seq, true); },
    },
    el("span", { className: "seq", text: row.seq ?? "!" }),
    el("span", { className: "clock", text: fmtClock(row.ts) }),
    el("span", { className: `etype t-${row.type}`, text: row.type }),
    el("span", { className: "where", text: where }),
    el("span", { className: "text", text: row.summary }));
  if (row.seq === state.selected) node.classList.add("selected");
  return node;
}

async function loadPage(params, mode) {
  const query = filterQuery();
  for (const [k, v] of Object.entries(params)) query.set(k, v);
  query.set("limit", PAGE);
  const generation = mode === "replace" ? ++state.generation : state.generation;
  const page = await getJSON(`${API}/events?${query}`);
  if (generation !== state.generation) return [];  // the filters changed meanwhile
  const list = document.getElementById("events");
  const rows = page.events;
  state.lastSeq = page.last_seq;
  if (mode === "replace") clear(list);
  if (mode === "prepend") {
    const anchor = list.firstChild;
    for (const row of rows) list.insertBefore(rowNode(row), anchor);
  } else {
    for (const row of rows) list.appendChild(rowNode(row));
  }
  const seqs = rows.map((r) => r.seq).filter((s) => s);
  if (mode === "replace") {
    state.first = seqs.length ? seqs[0] : null;
    state.last = seqs.length ? seqs[seqs.length - 1] : (params.after ?? 0);
  } else if (mode === "prepend" && seqs.length) {
    state.first = seqs[0];
  } else if (seqs.length) {
    state.last = seqs[seqs.length - 1];
  }
  if (mode !== "prepend") state.atEnd = rows.length < PAGE || state.last >= state.lastSeq;
  if (mode === "replace" && state.atEnd) state.last = Math.max(state.last, state.lastSeq);
  document.getElementById("load-more").hidden = state.atEnd;
  document.getElementById("load-earlier").hidden = !(state.first && state.first > 1) || (mode === "prepend" && rows.length < PAGE);
  updateCount();
  return rows;
}

function updateCount() {
  const shown = document.querySelectorAll("#events li.event").length;
  document.getElementById("event-count").textContent = `${fmtInt(shown)} shown · ${fmtInt(state.lastSeq)} events in the log`;
}

function reloadTimeline() {
  return loadPage({ after: 0 }, "replace");
}

function appendLive(row) {
  state.lastSeq = Math.max(state.lastSeq, row.seq);
  if (!state.atEnd) { updateCount(); return; }
  state.last = row.seq;
  if (!wanted(row) || document.getElementById(`ev-${row.seq}`)) { updateCount(); return; }
  const pane = document.querySelector(".timeline-pane");
  const stick = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 40;
  document.getElementById("events").appendChild(rowNode(row));
  if (stick) pane.scrollTop = pane.scrollHeight;
  updateCount();
}

// ---- inspector --------------------------------------------------------------------------
async function selectEvent(seq, updateHash) {
  state.selected = seq;
  for (const node of document.querySelectorAll("#events li.selected")) node.classList.remove("selected");
  const row = document.getElementById(`ev-${seq}`);
  if (row) row.classList.add("selected");
  if (updateHash && location.hash !== `#seq-${seq}`) history.replaceState(null, "", `#seq-${seq}`);
  const inspector = clear(document.getElementById("inspector"));
  inspector.appendChild(el("p", { className: "muted", text: `Loading event ${seq}…` }));
  try {
    const detail = await getJSON(`${API}/events/${seq}`);
    if (state.selected === seq) renderInspector(detail);
  } catch (e) {
    clear(inspector).appendChild(el("p", { className: "damage", text: `Event ${seq}: ${e.message}` }));
  }
}

function renderInspector(detail) {
  const { row, event } = detail;
  const inspector = clear(document.getElementById("inspector"));
  inspector.appendChild(
    el("div", { className: "inspector-head" },
      el("span", { className: `etype t-${row.type}`, text: row.type }),
      el("a", { href: `#seq-${row.seq}`, className: "seq-link", title: "link to this event", text: `#${row.seq}` }),
      el("span", { className: "muted", text: `${fmtWhen(row.ts)} · ${row.actor}` })));
  inspector.appendChild(el("p", { className: "inspector-summary", text: row.summary }));
  if (detail.fork_command) inspector.appendChild(renderForkCommand(detail.fork_command));
  const body = el("div", { className: "inspector-body" });
  if (detail.exchange) body.appendChild(renderExchange(detail.exchange));
  else if (event.type === "PlanProduced") body.appendChild(renderPlan(event.plan));
  else if (event.type === "ReviewProduced") body.appendChild(renderReview(event.review));
  else if (event.type === "CodeProduced") body.appendChild(renderCodeEvent(event));
  else if (event.type === "TestsRan") body.appendChild(renderTests({ ...event, seq: row.seq }));
  else if (event.type === "StepFailed" || event.type === "WorkflowFailed") body.appendChild(renderFailureCard(event));
  else if (event.type === "Forked") body.appendChild(renderForkedEvent(event));
  inspector.appendChild(body);
  inspector.appendChild(
    el("details", { className: "raw" }, el("summary", { text: "Raw event (JSON)" }), el("pre", { text: pretty(event) })));
}

// The command that starts a new run from this event: select it to copy, or press Copy.
function renderForkCommand(command) {
  const code = el("code", { className: "fork-command", text: command });
  const button = el("button", {
    type: "button",
    className: "copy",
    text: "Copy",
    onclick: async () => {
      try { await navigator.clipboard.writeText(command); button.textContent = "Copied"; }
      catch { getSelection().selectAllChildren(code); button.textContent = "Selected"; }
    },
  });
  return el("p", { className: "fork-from", title: "start a new run from this event" }, el("span", { className: "muted", text: "fork from here: " }), code, " ", button);
}

function renderCodeEvent(event) {
  return el("div", {},
    el("p", {}, el("a", {
      href: "#code",
      className: "to-diff",
      onclick: () => { state.codeRound = event.seq; if (state.overview) renderCode(state.overview); },
      text: "View the diff of this round →",
    })),
    renderCodeFiles(event.code));
}

function renderFailureCard(event) {
  return el("div", { className: "card failure" },
    el("div", { className: "title-row" },
      badge(event.error_kind, "failed"),
      event.step ? el("span", { text: `step ${event.step}` }) : null,
      event.attempt ? el("span", { text: `attempt ${event.attempt}` }) : null,
      event.retryable !== undefined ? el("span", { className: "muted", text: event.retryable ? "retryable" : "final" }) : null),
    el("pre", { className: "output", text: event.message }));
}

function renderForkedEvent(event) {
  return el("p", {}, `Forked from `, el("code", { text: event.source }), ` sharing its first ${event.at_seq} events.`);
}

function renderRequest(request) {
  if (request.problem) {
    return el("div", { className: "request missing" },
      el("p", {}, el("strong", { text: "Request damaged: " }), request.problem),
      el("code", { className: "digest", text: request.digest }));
  }
  if (!request.recorded) {
    return el("div", { className: "request missing" },
      el("p", {}, el("strong", { text: "Request not recorded." }),
        " This log keeps only the request's digest; runs written before requests were stored say so."),
      el("code", { className: "digest", text: request.digest }));
  }
  if (request.too_large) return el("p", { className: "muted", text: `Request recorded (${fmtInt(request.size)} bytes): too large to show here.` });
  const body = request.body;
  const parts = [el("code", { className: "digest", text: request.digest })];
  if (body && typeof body === "object" && Array.isArray(body.messages)) {
    if (body.system) {
      const system = Array.isArray(body.system) ? body.system.map((b) => b.text || pretty(b)).join("\n\n") : String(body.system);
      parts.push(el("div", { className: "msg role-system" }, el("div", { className: "role", text: "system" }), el("pre", { text: system })));
    }
    for (const message of body.messages) {
      const content = typeof message.content === "string" ? message.content
        : (message.content || []).map((b) => (b.type === "text" ? b.text : pretty(b))).join("\n\n");
      parts.push(el("div", { className: `msg role-${message.role}` }, el("div", { className: "role", text: message.role }), el("pre", { text: content })));
    }
    const rest = { ...body };
    delete rest.messages; delete rest.system;
    parts.push(el("details", {}, el("summary", { text: "Parameters and tools" }), el("pre", { text: pretty(rest) })));
  } else {
    parts.push(el("pre", { text: typeof body === "string" ? body : pretty(body) }));
  }
  return el("div", { className: "request" }, parts);
}

function renderExchange(x) {
  const response = el("div", { className: "response" });
  for (const block of x.response) {
    const b = block.block;
    if (b.type === "text") {
      response.appendChild(el("div", { className: "msg role-assistant" }, el("div", { className: "role", text: "text" }), el("pre", { text: b.text })));
    } else if (b.type === "tool_use") {
      let rendered = null;
      try {
        if (block.artifact === "plan") rendered = renderPlan(b.input);
        else if (block.artifact === "review") rendered = renderReview(b.input);
        else if (block.artifact === "codechange") rendered = renderCodeFiles(b.input);
      } catch (e) {
        rendered = el("p", { className: "damage", text: `The input is no valid ${block.artifact}: ${e.message}` });
      }
      response.appendChild(
        el("div", { className: "tool-use" },
          el("div", { className: "role" }, "tool call ", el("code", { text: b.name })),
          rendered,
          el("details", {}, el("summary", { text: "Tool input (JSON)" }), el("pre", { text: pretty(b.input) }))));
    } else {
      response.appendChild(el("pre", { text: pretty(b) }));
    }
  }
  const u = x.usage;
  return el("div", { className: "exchange" },
    el("dl", { className: "facts small" },
      fact("model", x.model), fact("step", `${x.step} #${x.attempt}${x.round ? " round " + x.round : ""}`),
      fact("stop", x.stop_reason || "–"), fact("latency", fmtMs(x.latency_ms)),
      fact("tokens in/out", `${fmtInt(u.input_tokens)} / ${fmtInt(u.output_tokens)}`),
      fact("cache read/write", `${fmtInt(u.cache_read_input_tokens)} / ${fmtInt(u.cache_creation_input_tokens)}`)),
    el("h3", { text: "Request" }), renderRequest(x.request),
    el("h3", {}, "Response",
      x.produced_seq ? el("span", { className: "became" }, " → became ", seqLink(x.produced_seq)) : null),
    response);
}

function fact(name, value) {
  return el("div", { className: "fact" }, el("dt", { text: name }), el("dd", {}, value));
}

// ---- overview panes ---------------------------------------------------------------------
// The type filter offers every event type the server knows (newer ones included).
function fillTypeFilter(types) {
  const select = document.getElementById("type-filter");
  if (select.options.length > 1) return;
  for (const type of types) select.appendChild(el("option", { text: type }));
}

function renderSummary(o) {
  const s = o.summary || {};
  fillTypeFilter(o.event_types || []);
  document.title = `agentlog · ${RUN_ID}`;
  document.getElementById("run-id").textContent = RUN_ID;
  document.getElementById("crumb-run").textContent = RUN_ID;
  clear(document.getElementById("status")).appendChild(badge(s.status || o.state.status));
  clear(document.getElementById("verdict")).appendChild(o.state.verdict ? badge(o.state.verdict) : el("span"));
  document.getElementById("task").textContent = o.state.task;
  const total = o.stats[o.stats.length - 1] || {};
  const facts = clear(document.getElementById("facts"));
  const parent = o.forks.parent;
  append(facts, [
    fact("workflow", o.state.workflow_id),
    fact("model", o.state.config.model || "default"),
    fact("started", fmtWhen(s.started)),
    fact("duration", fmtDuration(s.duration_s)),
    fact("events", fmtInt(o.state.last_seq)),
    fact("model calls", fmtInt(o.state.model_calls)),
    fact("tokens", fmtInt(total.tokens)),
    fact("cost", fmtCost(total.cost_usd)),
    fact("round", String(o.state.round)),
    o.state.workspace ? fact("workspace", o.state.workspace.root) : null,
    o.state.workspace ? fact("commit", o.state.workspace.commit ? o.state.workspace.commit.slice(0, 12) + (o.state.workspace.dirty ? " (dirty)" : "") : "not a git commit") : null,
    o.state.workspace ? fact("test command", o.state.test_command || "none") : null,
    parent ? fact(parent.what_if ? "what-if of" : "fork of", parent.id ? el("a", { href: `/runs/${encodeURIComponent(parent.id)}#seq-${parent.at_seq}`, text: `${parent.id} @ ${parent.at_seq}` }) : `${parent.source} @ ${parent.at_seq}`) : null,
  ]);
  // A continuation this viewer started that ended in failure says why (a run whose log
  // asks for more than a confined sandbox, a missing key…): one line from `agentlog resume`.
  const cont = o.continuation;
  const contNode = document.getElementById("continuation");
  contNode.hidden = !(cont && !cont.running && cont.exit_code !== 0);
  contNode.textContent = contNode.hidden ? "" : `Could not continue the run (exit ${cont.exit_code}): ${cont.message}`;
  const damage = document.getElementById("damage");
  damage.hidden = !o.damage;
  damage.textContent = o.damage ? `This log is damaged: ${o.damage}` : "";
}

// ---- a person's decision ---------------------------------------------------------------
// Shown while the run waits at a gate. Writing needs the token URL `agentlog ui` printed
// (it set an HttpOnly cookie); the server also checks this page's Origin.
function renderDecision(o) {
  const box = document.getElementById("decision");
  const gate = o.state.waiting_at;
  box.hidden = !gate;
  if (!gate) return;
  const what = gate.step === "plan" ? "the plan" : "the code";
  document.getElementById("decision-what").textContent =
    `Waiting for a person: approve or reject ${what} (${gate.digest.slice(0, 19)}, event ${gate.requested_seq})`;
  document.getElementById("decision-form").hidden = !o.writable;
  document.getElementById("decision-changes").hidden = gate.step !== "code";
  if (!o.writable) {
    document.getElementById("decision-result").textContent =
      `read-only viewer: agentlog approve ${o.summary?.path || RUN_ID}`;
  }
}

async function sendDecision(action) {
  const gate = state.overview?.state.waiting_at;
  const out = document.getElementById("decision-result");
  const body = {
    action,
    comment: document.getElementById("decision-comment").value,
    by: document.getElementById("decision-by").value,
    digest: gate ? gate.digest : null,
    continue: true,  // the viewer continues the run itself (`agentlog resume` in a child)
  };
  const response = await fetch(`${API}/decision`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  out.textContent = !response.ok
    ? `refused: ${answer.error}`
    : answer.continued
      ? `recorded (event ${answer.recorded.seq}); the run continues (process ${answer.continued.pid})`
      : `recorded (event ${answer.recorded.seq}); continue with: ${answer.next}`;
  scheduleOverview(0);
  if (answer.continued) setTimeout(() => scheduleOverview(0), 2000);  // a refusal appends nothing
}

function moreNote(list, what) {
  return list.total > list.items.length ? el("p", { className: "muted", text: `Showing the last ${list.items.length} of ${fmtInt(list.total)} ${what}; the timeline has them all.` }) : null;
}

function renderArtifacts(o) {
  const pane = clear(document.getElementById("tab-artifacts"));
  pane.appendChild(el("h2", { text: "Plan" }));
  if (!o.plans.items.length) pane.appendChild(el("p", { className: "muted", text: "No plan yet." }));
  for (const p of o.plans.items) {
    pane.appendChild(el("div", { className: "card" }, el("div", { className: "card-head" }, `attempt ${p.attempt} `, seqLink(p.seq)), renderPlan(p.plan)));
  }
  pane.appendChild(el("h2", { text: "Reviews" }));
  if (!o.reviews.items.length) pane.appendChild(el("p", { className: "muted", text: "No review yet." }));
  for (const r of o.reviews.items) {
    pane.appendChild(el("div", { className: "card" }, el("div", { className: "card-head" }, `round ${r.round} · attempt ${r.attempt} `, seqLink(r.seq)), renderReview(r.review)));
  }
  append(pane, [moreNote(o.reviews, "reviews")]);
}

function renderCode(o) {
  const pane = clear(document.getElementById("tab-code"));
  const rounds = o.rounds.items;
  if (o.base_change) renderBaseChange(pane, o.base_change);
  if (!rounds.length) { pane.appendChild(el("p", { className: "muted", text: "No code yet." })); return; }
  if (!rounds.some((r) => r.seq === state.codeRound)) state.codeRound = rounds[rounds.length - 1].seq;
  const picker = el("div", { className: "round-picker" }, el("span", { className: "label", text: "Version" }));
  for (const r of rounds) {
    picker.appendChild(el("button", {
      className: r.seq === state.codeRound ? "chosen" : "",
      dataset: { seq: r.seq },
      onclick: () => { state.codeRound = r.seq; renderCode(state.overview); },
      text: `round ${r.round} · attempt ${r.attempt} (#${r.seq})`,
    }));
  }
  pane.appendChild(picker);
  append(pane, [moreNote(o.rounds, "code versions")]);
  const r = rounds.find((x) => x.seq === state.codeRound);
  const changed = r.files.filter((f) => f.status !== "unchanged");
  pane.appendChild(el("p", { className: "diff-head" },
    `Diff against ${r.against}: ${changed.length} of ${r.files.length} files changed `, seqLink(r.seq)));
  if (r.notes) pane.appendChild(el("p", { className: "lead", text: r.notes }));
  for (const f of r.files) {
    pane.appendChild(el("details", { className: `file diff-file status-${f.status}`, open: f.status !== "unchanged" },
      el("summary", {},
        badge(f.status, f.status), el("code", { text: f.path }),
        el("span", { className: "stat" }, el("span", { className: "plus", text: `+${f.added}` }), " ", el("span", { className: "minus", text: `−${f.removed}` }))),
      f.status === "unchanged" ? el("p", { className: "muted", text: "Unchanged from the previous round." }) : renderDiff(f.diff)));
  }
}

function renderBaseChange(pane, change) {
  // A workspace run: the change against the recorded base, as `agentlog diff` prints it.
  const box = el("section", { className: "base-change" });
  box.appendChild(el("h3", { text: "Change against the recorded base" }));
  if (change.error) box.appendChild(el("p", { className: "muted", text: change.error }));
  else if (!change.files.length) box.appendChild(el("p", { className: "muted", text: "No change to the base yet." }));
  for (const f of change.files) {
    const name = f.old_path ? `${f.old_path} → ${f.path}` : f.path;
    box.appendChild(el("details", { className: `file diff-file status-${f.status}`, open: true },
      el("summary", {},
        badge(f.status, f.status), el("code", { text: name }),
        el("span", { className: "stat" }, el("span", { className: "plus", text: `+${f.added}` }), " ", el("span", { className: "minus", text: `−${f.removed}` }))),
      renderDiff(f.patch)));
  }
  pane.appendChild(box);
}

function renderTestsPane(o) {
  const pane = clear(document.getElementById("tab-tests"));
  if (!o.tests.items.length) pane.appendChild(el("p", { className: "muted", text: "No test run recorded (the run did not use --run-tests, or has not reached it)." }));
  for (const t of o.tests.items) pane.appendChild(renderTests(t));
  append(pane, [moreNote(o.tests, "test runs")]);
}

function renderFailures(o) {
  const pane = clear(document.getElementById("tab-failures"));
  if (!o.failures.items.length) { pane.appendChild(el("p", { className: "muted", text: "No failures." })); return; }
  const body = el("tbody");
  for (const f of o.failures.items) {
    body.appendChild(el("tr", { className: f.workflow ? "workflow-failure" : "" },
      el("td", {}, seqLink(f.seq)), el("td", { text: f.step || "workflow" }),
      el("td", { className: "num", text: f.attempt ?? "–" }), el("td", { className: "num", text: f.round ?? "–" }),
      el("td", {}, badge(f.kind, "failed")), el("td", { text: f.retryable ? "retryable" : "final" }),
      el("td", { className: "message" }, el("pre", { text: f.message }))));
  }
  pane.appendChild(el("table", { className: "grid failures" },
    el("thead", {}, el("tr", {}, ["seq", "step", "attempt", "round", "kind", "retry", "message"].map((h) => el("th", { text: h })))),
    body));
  append(pane, [moreNote(o.failures, "failures")]);
}

function renderStats(o) {
  const pane = clear(document.getElementById("tab-stats"));
  const steps = o.stats.filter((s) => s.step !== "total");
  if (!steps.length) { pane.appendChild(el("p", { className: "muted", text: "No step has run yet." })); return; }
  const charts = el("div", { className: "charts" },
    barChart("Wall time per step", steps.map((s) => ({ label: s.step, missing: s.wall_ms === null, parts: [{ value: s.wall_ms || 0, cls: "bar-time", name: "wall" }] })), fmtMs),
    barChart("Tokens per step", steps.map((s) => ({ label: s.step, parts: [
      { value: s.input_tokens, cls: "bar-in", name: "input" },
      { value: s.output_tokens, cls: "bar-out", name: "output" },
      { value: s.cache_read_input_tokens + s.cache_creation_input_tokens, cls: "bar-cache", name: "cache read+write" }] })), fmtInt),
    barChart("Cost per step", steps.map((s) => ({ label: s.step, missing: s.cost_usd === null, parts: [{ value: s.cost_usd || 0, cls: "bar-cost", name: "cost" }] })), fmtCost));
  pane.appendChild(charts);
  pane.appendChild(el("p", { className: "legend" },
    el("span", { className: "key bar-in" }), "input ", el("span", { className: "key bar-out" }), "output ",
    el("span", { className: "key bar-cache" }), "cache read + write"));
  const body = el("tbody");
  for (const s of o.stats) {
    body.appendChild(el("tr", { className: s.step === "total" ? "total" : "" },
      el("td", { text: s.step }), el("td", { className: "num", text: s.attempts }), el("td", { className: "num", text: s.failures }),
      el("td", { className: "num", text: fmtMs(s.wall_ms) }), el("td", { className: "num", text: fmtMs(s.latency_ms) }),
      el("td", { className: "num", text: fmtInt(s.model_calls) }), el("td", { className: "num", text: fmtInt(s.input_tokens) }),
      el("td", { className: "num", text: fmtInt(s.output_tokens) }),
      el("td", { className: "num", text: `${fmtInt(s.cache_read_input_tokens)} / ${fmtInt(s.cache_creation_input_tokens)}` }),
      el("td", { className: "num cache-share", text: s.cache_share === null || s.cache_share === undefined ? "–" : `${Math.round(s.cache_share * 100)}%` }),
      el("td", { className: "num tool-calls", text: fmtInt(s.tool_calls || 0) }),
      el("td", { className: "num", text: fmtCost(s.cost_usd) })));
  }
  pane.appendChild(el("table", { className: "grid stats" },
    el("thead", {}, el("tr", {}, ["step", "attempts", "failures", "wall", "model time", "calls", "in", "out", "cache r/w", "cache share", "tool calls", "cost"].map((h) => el("th", { text: h })))),
    body));
  pane.appendChild(el("p", { className: "muted", text: "cache share: cache reads / all input tokens (plain, cache reads, 5-minute and 1-hour cache writes, each priced at its rate)" }));
}

// The compare page of `a` (the parent) and `b` (the fork or what-if).
function compareLink(a, b) {
  return el("a", { className: "compare-link", href: CompareMath.compareHref(a, b), title: `${a} against ${b}`, text: "compare" });
}

function renderForks(o) {
  const pane = clear(document.getElementById("tab-forks"));
  const { parent, children } = o.forks;
  const tree = el("ul", { className: "fork-tree" });
  const me = el("li", { className: "me" }, el("strong", { text: RUN_ID }), " ", badge(o.summary?.status));
  if (children.length) {
    me.appendChild(el("ul", {}, children.map((c) =>
      el("li", {}, el("a", { href: `/runs/${encodeURIComponent(c.id)}`, text: c.id }), " ", badge(c.status),
        el("span", { className: "muted", text: `${c.what_if ? " what-if," : ""} shares events 1–${c.at_seq} ` }), seqLink(c.at_seq),
        compareLink(RUN_ID, c.id)))));
  }
  if (parent) {
    const up = el("li", {},
      parent.id ? el("a", { href: `/runs/${encodeURIComponent(parent.id)}#seq-${parent.at_seq}`, text: parent.id }) : el("code", { text: parent.source }),
      parent.status ? badge(parent.status) : el("span", { className: "muted", text: " (not under this directory)" }),
      el("span", { className: "muted", text: ` shares events 1–${parent.at_seq} with this run${parent.what_if ? ", which is a what-if of it" : ""}` }),
      parent.id ? compareLink(parent.id, RUN_ID) : null,
      el("ul", {}, me));
    tree.appendChild(up);
  } else {
    tree.appendChild(me);
  }
  pane.appendChild(tree);
  if (!parent && !children.length) pane.appendChild(el("p", { className: "muted", text: "No forks: this run was not forked, and no run under this directory forks it. Make one with agentlog fork RUN --at SEQ." }));
}

let overviewTimer = null;
function scheduleOverview(delay) {
  clearTimeout(overviewTimer);
  overviewTimer = setTimeout(loadOverview, delay);
}

async function loadOverview() {
  const o = await getJSON(`${API}/overview`);
  state.overview = o;
  renderSummary(o); renderArtifacts(o); renderCode(o); renderLoop(o); renderTestsPane(o);
  renderFailures(o); renderStats(o); renderForks(o); renderDecision(o);
  document.body.dataset.status = o.summary?.status || o.state.status;
}

// ---- live -------------------------------------------------------------------------------
function follow() {
  const live = document.getElementById("live");
  if (state.source) state.source.close();
  const source = new EventSource(`${API}/stream?from_seq=${state.lastSeq + 1}`);
  state.source = source;
  source.addEventListener("open", () => liveDot(live, "on"));
  source.addEventListener("append", (msg) => {
    const row = JSON.parse(msg.data);
    appendLive(row);
    scheduleOverview(FINAL_TYPES.has(row.type) ? 0 : 250);
  });
  source.addEventListener("end", () => { source.close(); liveDot(live, "done"); scheduleOverview(0); });
  source.addEventListener("failure", (msg) => { source.close(); liveDot(live, "off"); live.textContent = JSON.parse(msg.data).error; });
  source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) liveDot(live, "off"); });
}

// ---- navigation -------------------------------------------------------------------------
// j / k (or the arrow keys) move the inspected event down / up the timeline.
function stepSelection(e) {
  if (document.getElementById("tab-timeline").hidden) return;
  if (e.target.closest && e.target.closest("input, select, textarea")) return;
  const down = e.key === "j" || e.key === "ArrowDown";
  const up = e.key === "k" || e.key === "ArrowUp";
  if (!down && !up) return;
  const rows = [...document.querySelectorAll("#events li.event[data-seq]")].filter((r) => r.dataset.seq);
  if (!rows.length) return;
  const at = rows.findIndex((r) => Number(r.dataset.seq) === state.selected);
  const next = rows[at === -1 ? 0 : Math.min(rows.length - 1, Math.max(0, at + (down ? 1 : -1)))];
  e.preventDefault();
  const pane = document.querySelector(".timeline-pane");
  if (next.offsetTop < pane.scrollTop || next.offsetTop + next.offsetHeight > pane.scrollTop + pane.clientHeight) {
    pane.scrollTop = next.offsetTop - pane.clientHeight / 2;
  }
  selectEvent(Number(next.dataset.seq), true);
}

function showTab(name) {
  for (const tab of document.querySelectorAll("section.tab")) tab.hidden = tab.id !== `tab-${name}`;
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.dataset.tab === name);
}

async function route() {
  const hash = location.hash.slice(1);
  const seq = /^seq-(\d+)$/.exec(hash);
  if (seq) {
    const n = Number(seq[1]);
    showTab("timeline");
    if (!document.getElementById(`ev-${n}`)) {
      for (const box of document.querySelectorAll("input[name=step]")) box.checked = false;
      document.getElementById("type-filter").value = "";
      await loadPage({ around: n }, "replace");
    }
    const node = document.getElementById(`ev-${n}`);
    const pane = document.querySelector(".timeline-pane");
    if (node) pane.scrollTop = node.offsetTop - pane.clientHeight / 2;
    await selectEvent(n, false);
    return;
  }
  showTab(["timeline", "artifacts", "code", "loop", "tests", "failures", "stats", "forks"].includes(hash) ? hash : "timeline");
}

async function start() {
  document.getElementById("run-id").textContent = RUN_ID;
  document.getElementById("crumb-run").textContent = RUN_ID;
  for (const input of document.querySelectorAll(".filters input, .filters select")) {
    input.addEventListener("change", () => reloadTimeline());
  }
  document.getElementById("load-more").addEventListener("click", () => loadPage({ after: state.last }, "append"));
  document.getElementById("load-earlier").addEventListener("click", () => loadPage({ before: state.first }, "prepend"));
  // Scrolling to the end of the timeline loads the next page (one request at a time).
  const pane = document.querySelector(".timeline-pane");
  let loading = false;
  pane.addEventListener("scroll", async () => {
    if (loading || state.atEnd || pane.scrollTop + pane.clientHeight < pane.scrollHeight - 200) return;
    loading = true;
    try { await loadPage({ after: state.last }, "append"); } finally { loading = false; }
  });
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", stepSelection);
  document.getElementById("decision-approve").addEventListener("click", () => sendDecision("approve"));
  document.getElementById("decision-reject").addEventListener("click", () => sendDecision("reject"));
  document.getElementById("decision-changes").addEventListener("click", () => sendDecision("request_changes"));
  // The timeline's page first: the overview reads the whole log, and on a long run the
  // first page must not wait for (or share the server with) it.
  if (/^#seq-\d+$/.test(location.hash)) await route();
  else { await reloadTimeline(); await route(); }
  follow();
  await loadOverview();
}

start().catch((e) => {
  const d = document.getElementById("damage");
  d.hidden = false;
  d.textContent = `Could not load this run: ${e.message}`;
});
