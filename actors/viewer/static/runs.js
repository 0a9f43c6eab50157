// The runs list: the same summaries as `agentlog ls`, refreshed live over server-sent events.
"use strict";

function forkCell(run) {
  if (!run.forked_from) return "–";
  const parts = run.forked_from.source.split("/").filter(Boolean);
  let name = parts.pop() || run.forked_from.source;
  if (name === "events.jsonl") name = parts.pop() || name;
  const kind = run.forked_from.what_if ? "what-if " : "";
  return `${kind}${name} @ ${run.forked_from.at_seq}`;
}

function renderRuns(data) {
  document.getElementById("root").textContent = data.root;
  const body = clear(document.querySelector("#runs tbody"));
  const counts = {};
  for (const run of data.runs.slice().reverse()) {
    counts[run.status] = (counts[run.status] || 0) + 1;
    const link = el("a", { href: `/runs/${encodeURIComponent(run.id)}`, text: run.id });
    body.appendChild(
      el("tr", { dataset: { run: run.id, status: run.status } },
        el("td", { className: "id" }, link),
        el("td", {}, badge(run.status)),
        el("td", {}, run.verdict ? badge(run.verdict) : "–"),
        el("td", { className: "task", title: run.task }, el("div", { className: "task-line", text: run.task || "–" }),
          run.error ? el("div", { className: "error-line", text: run.error }) : null),
        el("td", { className: "when" }, fmtWhen(run.started)),
        el("td", { className: "num" }, fmtDuration(run.duration_s)),
        el("td", { className: "num" }, fmtInt(run.events)),
        el("td", { className: "num" }, fmtInt(run.tokens)),
        el("td", { className: "num" }, fmtCost(run.cost_usd)),
        el("td", { className: "fork" }, forkCell(run)),
      ),
    );
  }
  document.getElementById("empty").hidden = data.runs.length > 0;
  const summary = clear(document.getElementById("counts"));
  summary.appendChild(el("span", { text: `${data.runs.length} runs` }));
  for (const [status, n] of Object.entries(counts)) summary.appendChild(badge(`${n} ${status}`, status));
}

// The evaluations here (the root itself, ".", or its child directories holding runs),
// each linking to its report page (where a second one can be picked to compare).
function renderEvaluations(data) {
  const node = clear(document.getElementById("evals"));
  const list = data.evaluations;
  node.hidden = list.length === 0;
  if (!list.length) return;
  node.appendChild(el("span", { className: "muted", text: "Evaluation reports: " }));
  list.forEach((e, i) => {
    const name = e.dir === "." ? "this directory" : e.dir;
    if (i) node.appendChild(document.createTextNode(" · "));
    node.appendChild(el("a", { className: "report-link", href: `/report?${new URLSearchParams({ dir: e.dir })}`, text: `${name} (${e.runs} runs)` }));
  });
}

function start() {
  const live = document.getElementById("live");
  getJSON("/api/evaluations").then(renderEvaluations).catch(() => {});
  getJSON("/api/runs").then(renderRuns).catch((e) => { live.textContent = e.message; });
  const source = new EventSource("/api/runs-stream");
  source.addEventListener("open", () => liveDot(live, "on"));
  source.addEventListener("error", () => liveDot(live, "off"));
  source.addEventListener("runs", (msg) => renderRuns(JSON.parse(msg.data)));
}

start();
