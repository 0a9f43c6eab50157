// The compare page's pure functions (actors/viewer/static/comparemath.js), loaded the way
// the browser loads them: as a classic script whose one global is CompareMath.
import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";

const SOURCE = readFileSync(new URL("../../actors/viewer/static/comparemath.js", import.meta.url), "utf-8");
const C = runInNewContext(`${SOURCE}\nCompareMath;`, {});

const WHAT_IF = {
  lineage: { child: "b", what_if: true, at_seq: 10, marker_seq: 11, diverged: { seq: 12, step: "review", source_seq: 9, reason: "system differs" } },
  first_difference: { a_seq: 9, b_seq: 12, a_type: "ModelCalled", b_type: "ModelCalled", fields: ["content", "request_digest"] },
};

describe("addresses", () => {
  test("a compare link encodes each id whole, slashes and # included", () => {
    expect(C.compareHref("before/hello#1", "after/hello#1")).toBe("/compare/before%2Fhello%231/after%2Fhello%231");
  });

  test("a link's path names one pair; a typed path is tried at every slash", () => {
    expect(C.candidates("before%2Fhello%231/after%2Fhello%231")).toEqual([["before/hello#1", "after/hello#1"]]);
    expect(C.candidates("child/run/other/")).toEqual([["child", "run/other"], ["child/run", "other"]]);
  });

  test("a run link points at a seq when given one", () => {
    expect(C.runHref("a/b", 7)).toBe("/runs/a%2Fb#seq-7");
    expect(C.runHref("a")).toBe("/runs/a");
  });
});

describe("figures", () => {
  test("each side is formatted by what it measures", () => {
    expect(C.figureText("tokens", 12345)).toBe("12,345");
    expect(C.figureText("cost_usd", 0.5)).toBe("$0.5000");
    expect(C.figureText("wall_ms", 1500)).toBe("1.5 s");
    expect(C.figureText("verdict", "approve")).toBe("approve");
    expect(C.figureText("cost_usd", null)).toBe("–");
  });

  test("the delta is signed, and empty when either side is no number", () => {
    expect(C.deltaText("tokens", 1200)).toBe("+1,200");
    expect(C.deltaText("tokens", -3)).toBe("−3");
    expect(C.deltaText("cost_usd", -0.25)).toBe("−$0.2500");
    expect(C.deltaText("wall_ms", 61000)).toBe("+1m 01s");
    expect(C.deltaText("model_calls", 0)).toBe("0");
    expect(C.deltaText("verdict", null)).toBe("");
  });

  test("a row says whether B has more, less, the same or another value", () => {
    expect(C.figureClass({ a: 1, b: 3, delta: 2 })).toBe("more");
    expect(C.figureClass({ a: 3, b: 1, delta: -2 })).toBe("less");
    expect(C.figureClass({ a: "approve", b: "approve", delta: null })).toBe("same");
    expect(C.figureClass({ a: "approve", b: "reject", delta: null })).toBe("changed");
  });

  test("a setting that is not set is the built-in", () => {
    expect(C.settingText(null)).toBe("(built-in)");
    expect(C.settingText(["plan"])).toBe('["plan"]');
  });
});

describe("where two runs part", () => {
  test("a what-if's divergence links its own seq and the source's", () => {
    const [lineage, diverged, first] = C.parting(WHAT_IF, "src", "new");
    expect(lineage.text).toBe("B is a what-if of A: it copied A's first 10 events.");
    expect(lineage.links.map((l) => l.href)).toEqual(["/runs/src#seq-10", "/runs/new#seq-11"]);
    expect(diverged.text).toBe("Diverged: B's review request differs from A's at A seq 9: system differs");
    expect(diverged.links).toEqual([{ text: "B #12", href: "/runs/new#seq-12" }, { text: "A #9", href: "/runs/src#seq-9" }]);
    expect(first.text).toBe("First differing event: A ModelCalled / B ModelCalled (content, request_digest).");
    expect(first.links.map((l) => l.href)).toEqual(["/runs/src#seq-9", "/runs/new#seq-12"]);
  });

  test("a what-if that copied one event says so in the singular", () => {
    const cmp = { ...WHAT_IF, lineage: { ...WHAT_IF.lineage, at_seq: 1, diverged: { ...WHAT_IF.lineage.diverged, reason: "" } } };
    const [lineage, diverged] = C.parting(cmp, "src", "new");
    expect(lineage.text).toBe("B is a what-if of A: it copied A's first event.");
    expect(diverged.text).toBe("Diverged: B's review request differs from A's at A seq 9.");
  });

  test("when A is the child, the sides swap", () => {
    const cmp = { ...WHAT_IF, lineage: { ...WHAT_IF.lineage, child: "a" } };
    const [, diverged] = C.parting(cmp, "new", "src");
    expect(diverged.links.map((l) => l.href)).toEqual(["/runs/new#seq-12", "/runs/src#seq-9"]);
  });

  test("a log that ended is said so, and only the other side is linked", () => {
    const cmp = { lineage: null, first_difference: { a_seq: null, b_seq: 20, a_type: null, b_type: "StepStarted", fields: [] } };
    const [first] = C.parting(cmp, "x", "y");
    expect(first.text).toBe("First differing event: A has ended / B StepStarted.");
    expect(first.links).toEqual([{ text: "B #20", href: "/runs/y#seq-20" }]);
  });

  test("identical logs say no event differs", () => {
    expect(C.parting({ lineage: null, first_difference: null }, "x", "y")).toEqual([{ kind: "first-difference", text: "No event differs.", links: [] }]);
  });
});
