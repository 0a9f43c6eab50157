// The report page's pure functions (actors/viewer/static/reportmath.js), loaded the way the
// browser loads them: as a classic script whose one global is ReportMath.
import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";

const SOURCE = readFileSync(new URL("../../actors/viewer/static/reportmath.js", import.meta.url), "utf-8");
const M = runInNewContext(`${SOURCE}\nReportMath;`, { URLSearchParams });

const task = (id, passed, checked, extra = {}) => ({
  task_id: id, samples: checked, checked, passed, pass_rate: checked ? passed / checked : null,
  tokens: 1000, cost_usd: null, turns: 3, seconds: 1, ...extra,
});
const run = (id, task_id, sample, passed) => ({ id, task_id, sample, checked: true, passed });
const evaluation = (dir, tasks, runs, extra = {}) => ({
  dir, runs: runs.length, checked: runs.length, passed: runs.filter((r) => r.passed).length,
  pass_rate: 0.5, ci95: [0.1, 0.9], mean_tokens: 1000, mean_cost_usd: null, tasks, run_rows: runs, ...extra,
});
const TWO = {
  first: evaluation("runs/a", [task("x", 0, 2), task("y", 1, 1)],
    [run("x#2", "x", 2, false), run("x#1", "x", 1, false), run("y#1", "y", 1, true)]),
  second: evaluation("runs/b", [task("x", 2, 2), task("z", 1, 1)],
    [run("x#1", "x", 1, true), run("x#2", "x", 2, true), run("z#1", "z", 1, true)]),
  comparison: { common_tasks: 1, fixed: ["x"], regressed: [], p_value: 1, only_in_first: ["y"], only_in_second: ["z"] },
};

describe("scales and ticks", () => {
  test("a linear scale maps the domain's ends onto the range's", () => {
    const x = M.linear(0, 1, 100, 500);
    expect([x(0), x(0.5), x(1)]).toEqual([100, 300, 500]);
  });

  test("a flat domain maps to the middle of the range", () => {
    expect(M.linear(3, 3, 0, 10)(3)).toBe(5);
  });

  test("ticks are round steps from 0 that reach the maximum", () => {
    expect(M.ticks(1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(M.ticks(1468, 5)).toEqual([0, 500, 1000, 1500]);
    expect(M.ticks(0.0123, 4)).toEqual([0, 0.005, 0.01, 0.015]);
  });

  test("no positive maximum gives the unit axis", () => {
    expect(M.ticks(0, 5)).toEqual([0, 1]);
  });
});

describe("formats", () => {
  test("rates are percentages with one decimal, none is a dash", () => {
    expect([M.pct(1 / 3), M.pct(0), M.pct(null)]).toEqual(["33.3%", "0.0%", "–"]);
  });

  test("money has four decimals, tiny amounts an exponent, unknown a dash", () => {
    expect([M.money(0.12345), M.money(0), M.money(0.00001), M.money(null)])
      .toEqual(["$0.1235", "$0.0000", "$1.0e-5", "–"]);
  });

  test("a p-value has four significant digits as the CLI prints it", () => {
    expect([M.pValue(1), M.pValue(0.0213623046875)]).toEqual(["1", "0.02136"]);
  });
});

describe("links", () => {
  test("a run of the root evaluation is its name, of a child one CHILD/NAME, encoded", () => {
    expect(M.runHref(".", "t#1")).toBe("/runs/t%231");
    expect(M.runHref("after", "<b>#1")).toBe("/runs/after%2F%3Cb%3E%231");
  });

  test("a report link names one or two evaluations", () => {
    expect(M.reportHref("a b", "")).toBe("/report?dir=a+b");
    expect(M.reportHref("a", "b&c")).toBe("/report?dir=a&dir2=b%26c");
  });
});

describe("rows", () => {
  test("every task of either evaluation has a row, with its flip", () => {
    const rows = M.taskRows(TWO);
    expect(rows.map((r) => [r.id, !!r.first, !!r.second, r.flip])).toEqual([
      ["x", true, true, "fixed"], ["y", true, false, null], ["z", false, true, null],
    ]);
  });

  test("a flip lists its runs in both evaluations by sample", () => {
    const [flip] = M.flips(TWO);
    expect(flip.kind).toBe("fixed");
    expect(flip.first.map((r) => r.id)).toEqual(["x#1", "x#2"]);
    expect(flip.second.map((r) => r.id)).toEqual(["x#1", "x#2"]);
  });

  test("one evaluation has no flips", () => {
    expect(M.flips({ first: TWO.first })).toEqual([]);
  });
});

describe("the scatter", () => {
  test("without every price known, x is tokens per run", () => {
    const s = M.scatter(TWO);
    expect(s.axis).toBe("mean tokens per run");
    expect(s.points.filter((p) => p.kind === "evaluation").map((p) => [p.label, p.x, p.y]))
      .toEqual([["runs/a", 1000, 0.5], ["runs/b", 1000, 0.5]]);
  });

  test("with every price known, x is cost per run, and tasks of unknown cost are left out", () => {
    const priced = {
      first: { ...TWO.first, mean_cost_usd: 0.02, tasks: [task("x", 0, 2, { cost_usd: 0.01 }), task("y", 1, 1)] },
    };
    const s = M.scatter(priced);
    expect(s.axis).toBe("mean cost per run (USD)");
    expect(s.points.map((p) => [p.kind, p.label, p.x])).toEqual([["evaluation", "runs/a", 0.02], ["task", "x", 0.01]]);
    expect(s.maxX).toBe(0.02);
  });

  test("an evaluation with nothing checked has no point", () => {
    const s = M.scatter({ first: { ...TWO.first, pass_rate: null, tasks: [] } });
    expect(s.points).toEqual([]);
  });
});

describe("compare links of a flip", () => {
  test("each sample of the first evaluation pairs with the same sample of the second", () => {
    const [flip] = M.flips(TWO);
    expect(M.flipPairs(flip).map(([a, b]) => [a.id, b.id])).toEqual([["x#1", "x#1"], ["x#2", "x#2"]]);
  });

  test("a sample only one evaluation has gets no pair", () => {
    const flip = { first: [run("x#1", "x", 1, false), run("x#3", "x", 3, false)], second: [run("x#1", "x", 1, true)] };
    expect(M.flipPairs(flip).map(([a, b]) => [a.id, b.id])).toEqual([["x#1", "x#1"]]);
  });
});
