// The report page's pure part: formats, scales, run links and the rows it draws, computed
// from `agentlog report --json`'s data (GET /api/report). No DOM here, so it is tested
// alone (tests/js, vitest); report.js draws what this returns.
"use strict";

var ReportMath = (() => {
  // A linear scale from [d0, d1] onto [r0, r1] (a flat domain maps to the range's middle).
  function linear(d0, d1, r0, r1) {
    const span = d1 - d0;
    return (v) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0));
  }

  // Round tick values from 0 to at least `max`: [0, step, 2·step, …], step 1, 2 or 5 × 10^k.
  function ticks(max, count) {
    if (!(max > 0)) return [0, 1];
    const raw = max / Math.max(1, count);
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const out = [];
    for (let i = 0; i * step < max + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
    if (out[out.length - 1] < max) out.push(Number((out.length * step).toPrecision(12)));
    return out;
  }

  function pct(rate) {
    return rate === null || rate === undefined ? "–" : `${(100 * rate).toFixed(1)}%`;
  }

  function money(usd) {
    if (usd === null || usd === undefined) return "–";
    return usd !== 0 && Math.abs(usd) < 0.0001 ? `$${usd.toExponential(1)}` : `$${usd.toFixed(4)}`;
  }

  // McNemar's p as the CLI prints it (four significant digits).
  function pValue(p) {
    return p === null || p === undefined ? "–" : String(Number(p.toPrecision(4)));
  }

  // The viewer's id of the run `name` of the evaluation `dir` ("." is the viewer's root).
  function runId(dir, name) {
    return dir === "." ? name : `${dir}/${name}`;
  }

  function runHref(dir, name) {
    return `/runs/${encodeURIComponent(runId(dir, name))}`;
  }

  function reportHref(dir, dir2) {
    const query = new URLSearchParams({ dir });
    if (dir2) query.set("dir2", dir2);
    return `/report?${query}`;
  }

  // The evaluations a report holds, each with its directory name as the page asked for it.
  function evaluations(data, dirs) {
    return [data.first, data.second].filter(Boolean).map((rep, i) => ({ rep, dir: dirs[i], index: i }));
  }

  // One row per task of either evaluation, ordered by id: its rows and how it flipped.
  function taskRows(data) {
    const first = new Map(data.first.tasks.map((t) => [t.task_id, t]));
    const second = new Map((data.second ? data.second.tasks : []).map((t) => [t.task_id, t]));
    const cmp = data.comparison;
    const fixed = new Set(cmp ? cmp.fixed : []);
    const regressed = new Set(cmp ? cmp.regressed : []);
    const ids = [...new Set([...first.keys(), ...second.keys()])].sort();
    return ids.map((id) => ({
      id,
      first: first.get(id) || null,
      second: second.get(id) || null,
      flip: fixed.has(id) ? "fixed" : regressed.has(id) ? "regressed" : null,
    }));
  }

  // The runs (samples) of `task` in one evaluation's report, by sample.
  function runsOf(rep, task) {
    return rep.run_rows.filter((r) => r.task_id === task).sort((a, b) => a.sample - b.sample);
  }

  // The flipped tasks, fixed first, each with its runs in both evaluations.
  function flips(data) {
    const cmp = data.comparison;
    if (!cmp || !data.second) return [];
    const row = (kind) => (task) => ({
      task,
      kind,
      first: runsOf(data.first, task),
      second: runsOf(data.second, task),
    });
    return [...cmp.fixed.map(row("fixed")), ...cmp.regressed.map(row("regressed"))];
  }

  // The runs a flip's compare links pair up, [old, new]: each sample of the first
  // evaluation with the same sample of the second.
  function flipPairs(flip) {
    const second = new Map(flip.second.map((r) => [r.sample, r]));
    return flip.first.filter((r) => second.has(r.sample)).map((r) => [r, second.get(r.sample)]);
  }

  // What the scatter puts on x: mean cost per run when every evaluation's price is known,
  // else mean tokens per run. Points: one per evaluation and one per checked task of each.
  function scatter(data) {
    const reps = [data.first, data.second].filter(Boolean);
    const byCost = reps.every((r) => r.mean_cost_usd !== null && r.mean_cost_usd !== undefined);
    const x = byCost
      ? { label: "mean cost per run (USD)", ofRun: (r) => r.mean_cost_usd, ofTask: (t) => t.cost_usd, format: money }
      : { label: "mean tokens per run", ofRun: (r) => r.mean_tokens, ofTask: (t) => t.tokens, format: (v) => Math.round(v).toLocaleString("en-US") };
    const points = [];
    reps.forEach((rep, index) => {
      if (rep.pass_rate !== null) points.push({ kind: "evaluation", index, label: rep.dir, x: x.ofRun(rep), y: rep.pass_rate });
      for (const t of rep.tasks) {
        const tx = x.ofTask(t);
        if (t.pass_rate !== null && tx !== null && tx !== undefined) {
          points.push({ kind: "task", index, label: t.task_id, x: tx, y: t.pass_rate });
        }
      }
    });
    return { axis: x.label, format: x.format, points, maxX: Math.max(0, ...points.map((p) => p.x)) };
  }

  return { linear, ticks, pct, money, pValue, runId, runHref, reportHref, evaluations, taskRows, runsOf, flips, flipPairs, scatter };
})();
