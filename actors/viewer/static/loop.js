// The Loop tab: an agent loop as a transcript. Each model turn (its ModelCalled), the
// first line of its thinking, each tool call with its result and the working-copy diff
// of that call. Data: the overview's `loop` list (the last turns; the timeline has all).
"use strict";

function renderLoopCall(call) {
  const r = call.result;
  const bad = r && (r.is_error || r.timed_out || (r.exit_code !== null && r.exit_code !== 0));
  const head = el("div", { className: "loop-call-head" },
    el("code", { className: "tool-name", text: call.name }),
    el("span", { className: "gist", text: call.gist }),
    seqLink(call.seq));
  const body = el("div", { className: `loop-call${bad ? " bad" : ""}`, dataset: { callId: call.call_id } }, head);
  if (!r) {
    body.appendChild(el("p", { className: "muted loop-result", text: "no result recorded (the run stopped during this call)" }));
    return body;
  }
  body.appendChild(el("p", { className: "loop-result" },
    el("span", { text: r.summary.slice(r.summary.indexOf("→")) }), " ",
    el("span", { className: "muted", text: fmtMs(r.duration_ms) }), " ", seqLink(r.seq)));
  if (r.output) {
    const more = r.output_chars > r.output.length ? ` (first ${fmtInt(r.output.length)} of ${fmtInt(r.output_chars)} characters)` : "";
    body.appendChild(el("details", { className: "loop-output", open: !!r.outcome || bad },
      el("summary", { text: `output${more}` }), el("pre", { className: "output", text: r.output })));
  }
  if (call.diff_problem) body.appendChild(el("p", { className: "damage", text: `No diff: ${call.diff_problem}` }));
  for (const f of call.diff) {
    body.appendChild(el("details", { className: `file diff-file status-${f.status}`, open: true },
      el("summary", {},
        badge(f.status, f.status), el("code", { text: f.path }),
        el("span", { className: "stat" }, el("span", { className: "plus", text: `+${f.added}` }), " ", el("span", { className: "minus", text: `−${f.removed}` }))),
      renderDiff(f.diff)));
  }
  return body;
}

function renderLoop(o) {
  const pane = clear(document.getElementById("tab-loop"));
  const loop = o.loop || { items: [], total: 0 };
  if (!loop.items.length) {
    pane.appendChild(el("p", { className: "muted", text: "No agent loop: no step of this run called a tool (runs made with --loop do)." }));
    return;
  }
  if (loop.problem) pane.appendChild(el("p", { className: "damage", text: `Diffs stop at ${loop.problem}` }));
  if (loop.total > loop.items.length) {
    pane.appendChild(el("p", { className: "muted", text: `Showing the last ${loop.items.length} of ${fmtInt(loop.total)} turns; the timeline has them all.` }));
  }
  let attempt = null;
  for (const t of loop.items) {
    const where = `${t.step} · attempt ${t.attempt}${t.round ? " · round " + t.round : ""}`;
    if (where !== attempt) {
      attempt = where;
      pane.appendChild(el("h2", { className: "loop-attempt", text: where }));
    }
    const turn = el("div", { className: "card loop-turn", dataset: { seq: t.seq ?? "" } },
      el("div", { className: "card-head" },
        el("strong", { text: `turn ${t.turn}` }), " ",
        t.seq ? seqLink(t.seq) : null,
        t.model ? el("span", { className: "muted", text: ` · ${t.model} · ${fmtInt(t.tokens)} tokens` }) : null));
    if (t.thinking) turn.appendChild(el("p", { className: "loop-thinking", text: t.thinking }));
    if (t.text) turn.appendChild(el("p", { className: "loop-text", text: t.text }));
    for (const call of t.calls) turn.appendChild(renderLoopCall(call));
    for (const note of t.notes) turn.appendChild(el("p", { className: "loop-note" }, el("span", { text: note.text }), " ", seqLink(note.seq)));
    pane.appendChild(turn);
  }
}
