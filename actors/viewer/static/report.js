// The report page: `agentlog report DIR [DIR2]` drawn — totals, pass rates with their 95%
// intervals, cost against pass rate, the flips (each linking to its runs) and the table.
// Data: GET /api/report?dir=DIR&dir2=DIR2 (exactly `agentlog report --json`). Text only.
"use strict";

const M = ReportMath;
const QUERY = new URLSearchParams(location.search);

function evalLabel(dir, rep) {
  return dir === "." ? rep.dir : dir;
}

// ---- pickers ------------------------------------------------------------------------------
function renderPickers(list, dir, dir2) {
  const first = clear(document.getElementById("pick-first"));
  const second = clear(document.getElementById("pick-second"));
  second.appendChild(el("option", { value: "", text: "(none)" }));
  for (const e of list) {
    const text = `${e.dir} (${e.runs} runs)`;
    first.appendChild(el("option", { value: e.dir, text, selected: e.dir === dir }));
    second.appendChild(el("option", { value: e.dir, text, selected: e.dir === dir2 }));
  }
  const go = () => { location.href = M.reportHref(first.value, second.value); };
  first.addEventListener("change", go);
  second.addEventListener("change", go);
  document.getElementById("pickers").hidden = list.length === 0;
}

// ---- totals -------------------------------------------------------------------------------
function renderTotals(evals) {
  const body = clear(document.querySelector("#totals tbody"));
  for (const { rep, dir, index } of evals) {
    const [low, high] = rep.ci95;
    const unchecked = rep.runs - rep.checked;
    body.appendChild(
      el("tr", { dataset: { eval: index } },
        el("td", { className: `eval-name eval-${index}`, text: evalLabel(dir, rep) }),
        el("td", { className: "num", text: `${rep.passed}/${rep.checked}${unchecked ? ` (+${unchecked} not checked)` : ""}` }),
        el("td", { className: "num", text: M.pct(rep.pass_rate) }),
        el("td", { className: "num", text: `${M.pct(low)} – ${M.pct(high)}` }),
        el("td", { className: "num", text: fmtInt(rep.tokens) }),
        el("td", { className: "num", text: M.money(rep.cost_usd) }),
        el("td", { className: "num", text: fmtInt(Math.round(rep.mean_tokens)) }),
        el("td", { className: "num", text: M.money(rep.mean_cost_usd) }),
        el("td", { className: "num", text: rep.mean_turns.toFixed(1) }),
        el("td", { className: "num", text: fmtDuration(rep.mean_seconds) })));
  }
}

// ---- pass rate with its interval ----------------------------------------------------------
function intervalChart(evals) {
  const width = 640, left = 150, right = 180, rowH = 44, top = 10, axisH = 26;
  const height = top + evals.length * rowH + axisH;
  const x = M.linear(0, 1, left, width - right);
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  chart.appendChild(svg("title", {}, "Pass rate with its Wilson 95% interval"));
  const axisY = top + evals.length * rowH;
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    chart.appendChild(svg("line", { x1: x(t), x2: x(t), y1: top, y2: axisY, class: "grid-line" }));
    chart.appendChild(svg("text", { x: x(t), y: axisY + 16, class: "chart-value", "text-anchor": "middle" }, M.pct(t).replace(".0", "")));
  }
  evals.forEach(({ rep, dir, index }, i) => {
    const y = top + i * rowH + rowH / 2;
    const [low, high] = rep.ci95;
    const mark = svg("g", { class: `ci-mark eval-${index}`, "data-eval": index });
    mark.appendChild(svg("title", {}, `${evalLabel(dir, rep)}: ${M.pct(rep.pass_rate)}, 95% CI ${M.pct(low)} – ${M.pct(high)}`));
    mark.appendChild(svg("line", { x1: x(low), x2: x(high), y1: y, y2: y, class: "ci-bar" }));
    for (const end of [low, high]) mark.appendChild(svg("line", { x1: x(end), x2: x(end), y1: y - 7, y2: y + 7, class: "ci-cap" }));
    if (rep.pass_rate !== null) mark.appendChild(svg("circle", { cx: x(rep.pass_rate), cy: y, r: 5.5, class: "ci-point" }));
    chart.appendChild(mark);
    chart.appendChild(svg("text", { x: left - 10, y: y + 4, class: "chart-label", "text-anchor": "end" }, clip(evalLabel(dir, rep), 20)));
    chart.appendChild(svg("text", { x: width - right + 10, y: y + 4, class: "chart-value" }, `${M.pct(rep.pass_rate)} [${M.pct(low)}, ${M.pct(high)}]`));
  });
  return el("figure", { className: "chart-box", id: "ci-chart" },
    el("figcaption", { text: "Pass rate, Wilson 95% interval" }), chart);
}

function clip(text, n) {
  return text.length > n ? `…${text.slice(-(n - 1))}` : text;
}

// ---- cost against pass rate ---------------------------------------------------------------
function scatterChart(evals, data) {
  const { axis, format, points, maxX } = M.scatter(data);
  const width = 620, height = 320, left = 56, right = 24, top = 14, bottom = 44;
  const xTicks = M.ticks(maxX, 5);
  const x = M.linear(0, xTicks[xTicks.length - 1], left, width - right);
  const y = M.linear(0, 1, height - bottom, top);
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  chart.appendChild(svg("title", {}, `Pass rate against ${axis}`));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    chart.appendChild(svg("line", { x1: left, x2: width - right, y1: y(t), y2: y(t), class: "grid-line" }));
    chart.appendChild(svg("text", { x: left - 6, y: y(t) + 4, class: "chart-value", "text-anchor": "end" }, M.pct(t).replace(".0", "")));
  }
  for (const t of xTicks) {
    chart.appendChild(svg("text", { x: x(t), y: height - bottom + 16, class: "chart-value", "text-anchor": "middle" }, format(t)));
  }
  chart.appendChild(svg("text", { x: (left + width - right) / 2, y: height - 6, class: "chart-label", "text-anchor": "middle" }, axis));
  // Tasks first (small, behind), then each evaluation's point with its label.
  for (const p of points.filter((q) => q.kind === "task")) {
    const dot = svg("circle", { cx: x(p.x), cy: y(p.y), r: 3.5, class: `point-task eval-${p.index}` });
    dot.appendChild(svg("title", {}, `${p.label}: ${M.pct(p.y)} at ${format(p.x)}`));
    chart.appendChild(dot);
  }
  for (const p of points.filter((q) => q.kind === "evaluation")) {
    const { rep, dir } = evals[p.index];
    const name = evalLabel(dir, rep);
    const g = svg("g", { class: `point-evaluation eval-${p.index}`, "data-eval": p.index });
    g.appendChild(svg("title", {}, `${name}: ${M.pct(p.y)} at ${format(p.x)}`));
    g.appendChild(svg("circle", { cx: x(p.x), cy: y(p.y), r: 7 }));
    const onRight = x(p.x) > (left + width - right) / 2;  // label toward the middle
    g.appendChild(svg("text", { x: x(p.x) + (onRight ? -10 : 10), y: y(p.y) - 8, class: "chart-label", "text-anchor": onRight ? "end" : "start" }, clip(name, 24)));
    chart.appendChild(g);
  }
  return el("figure", { className: "chart-box", id: "scatter" },
    el("figcaption", { text: `Pass rate against ${axis}` }), chart,
    el("p", { className: "muted legend", text: "large: an evaluation; small: one of its tasks (over its samples)" }));
}

// ---- flips --------------------------------------------------------------------------------
function runLink(dir, label, run) {
  const verdict = run.checked ? (run.passed ? "passed" : "failed") : "not checked";
  return el("span", { className: "run-ref" },
    el("a", { className: "run-link", href: M.runHref(dir, run.id), text: `${label}: ${run.id}` }),
    " ", badge(verdict, run.checked ? verdict : "none"));
}

// The compare page of each sample's old run (first evaluation) and new run (second).
function compareLinks(dirA, dirB, pairs) {
  return pairs.map(([old, now]) => el("a", {
    className: "compare-link",
    href: CompareMath.compareHref(M.runId(dirA, old.id), M.runId(dirB, now.id)),
    text: pairs.length > 1 ? `compare #${old.sample}` : "compare",
  }));
}

function renderComparison(evals, data) {
  const box = document.getElementById("comparison");
  const cmp = data.comparison;
  box.hidden = !cmp;
  if (!cmp) return;
  const [a, b] = evals;
  const la = evalLabel(a.dir, a.rep), lb = evalLabel(b.dir, b.rep);
  clear(document.getElementById("mcnemar")).append(
    `Paired over ${cmp.common_tasks} tasks (a task passes when half its checked samples do): `,
    `${cmp.fixed.length} fixed, ${cmp.regressed.length} regressed; McNemar exact p = ${M.pValue(cmp.p_value)}.`);
  const list = clear(document.getElementById("flips"));
  for (const flip of M.flips(data)) {
    list.appendChild(
      el("li", { className: `flip flip-${flip.kind}` },
        badge(flip.kind, flip.kind === "fixed" ? "completed" : "failed"), " ",
        el("code", { className: "task-id", text: flip.task }),
        el("span", { className: "flip-runs" },
          flip.first.map((r) => runLink(a.dir, la, r)),
          flip.second.map((r) => runLink(b.dir, lb, r)),
          compareLinks(a.dir, b.dir, M.flipPairs(flip)))));
  }
  document.getElementById("no-flips").hidden = list.childElementCount > 0;
  const only = clear(document.getElementById("only"));
  for (const [label, ids] of [[la, cmp.only_in_first], [lb, cmp.only_in_second]]) {
    if (ids.length) only.appendChild(el("p", { className: "muted" }, `Only in ${label} (${ids.length}): `, ids.flatMap((id, i) => [i ? ", " : "", el("code", { text: id })])));
  }
}

// ---- the table ----------------------------------------------------------------------------
function renderTable(evals, data) {
  const head = clear(document.querySelector("#tasks thead"));
  const cols = ["passed", "rate", "tokens", "cost", "turns", "time"];
  head.appendChild(el("tr", {}, el("th", { rowspan: 2, text: "Task" }),
    evals.map(({ rep, dir, index }) => el("th", { colspan: cols.length, className: `eval-head eval-${index}`, text: evalLabel(dir, rep) })),
    data.comparison ? el("th", { rowspan: 2, text: "Flip" }) : null));
  head.appendChild(el("tr", {}, evals.flatMap(() => cols.map((c) => el("th", { className: "num", text: c })))));
  const body = clear(document.querySelector("#tasks tbody"));
  const cells = (t) => t
    ? [el("td", { className: "num", text: `${t.passed}/${t.checked}` }),
       el("td", { className: "num", text: M.pct(t.pass_rate) }),
       el("td", { className: "num", text: fmtInt(Math.round(t.tokens)) }),
       el("td", { className: "num", text: M.money(t.cost_usd) }),
       el("td", { className: "num", text: t.turns.toFixed(1) }),
       el("td", { className: "num", text: fmtDuration(t.seconds) })]
    : cols.map(() => el("td", { className: "num muted", text: "–" }));
  for (const row of M.taskRows(data)) {
    body.appendChild(el("tr", { className: row.flip ? `flip-${row.flip}` : undefined },
      el("td", { className: "task-id", text: row.id }),
      cells(row.first), data.second ? cells(row.second) : null,
      data.comparison ? el("td", {}, row.flip ? badge(row.flip, row.flip === "fixed" ? "completed" : "failed") : "–") : null));
  }
  const foot = clear(document.querySelector("#tasks tfoot"));
  foot.appendChild(el("tr", {}, el("td", { text: "all runs" }),
    evals.flatMap(({ rep }) => [
      el("td", { className: "num", text: `${rep.passed}/${rep.checked}` }),
      el("td", { className: "num", text: M.pct(rep.pass_rate) }),
      el("td", { className: "num", text: fmtInt(Math.round(rep.mean_tokens)) }),
      el("td", { className: "num", text: M.money(rep.mean_cost_usd) }),
      el("td", { className: "num", text: rep.mean_turns.toFixed(1) }),
      el("td", { className: "num", text: fmtDuration(rep.mean_seconds) })]),
    data.comparison ? el("td", {}) : null));
}

// ---- page ---------------------------------------------------------------------------------
function render(data, dir, dir2) {
  const evals = M.evaluations(data, [dir, dir2]);
  const names = evals.map(({ rep, dir: d }) => evalLabel(d, rep));
  document.title = `agentlog · report · ${names.join(" vs ")}`;
  document.getElementById("which").textContent = names.join("  vs  ");
  renderTotals(evals);
  append(clear(document.getElementById("charts")), [intervalChart(evals), scatterChart(evals, data)]);
  renderComparison(evals, data);
  renderTable(evals, data);
  document.getElementById("report").hidden = false;
}

function fail(message) {
  const node = document.getElementById("error");
  node.textContent = message;
  node.hidden = false;
}

async function start() {
  const listing = await getJSON("/api/evaluations");
  const list = listing.evaluations;
  const dir = QUERY.get("dir") || (list[0] && list[0].dir);
  const dir2 = QUERY.get("dir2") || "";
  renderPickers(list, dir, dir2);
  if (!dir) {
    fail(`No evaluation under ${listing.root}: run agentlog eval TASKS --runs-dir DIR, then agentlog ui DIR (or its parent, to compare two).`);
    return;
  }
  const query = new URLSearchParams({ dir });
  if (dir2) query.set("dir2", dir2);
  render(await getJSON(`/api/report?${query}`), dir, dir2);
}

start().catch((e) => fail(e.message));
