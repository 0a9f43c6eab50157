// The compare page's pure part: its address, the figures' formats and the links that say
// where two runs part, computed from `agentlog diff RUN_A RUN_B --json`'s data (GET
// /api/runs/A/compare/B). No DOM here, so it is tested alone (tests/js, vitest); compare.js
// draws what this returns, and the run and report pages link with compareHref.
"use strict";

var CompareMath = (() => {
  function runHref(id, seq) {
    const page = `/runs/${encodeURIComponent(id)}`;
    return seq === null || seq === undefined ? page : `${page}#seq-${seq}`;
  }

  // The compare page of runs `a` and `b` (ids as the viewer names them: CHILD/RUN too).
  function compareHref(a, b) {
    return `/compare/${encodeURIComponent(a)}/${encodeURIComponent(b)}`;
  }

  // The [A, B] id pairs a compare page's path may mean, most likely first. `rest` is the
  // path after /compare/ as the browser keeps it (still percent-encoded): a link made by
  // compareHref has two segments; a path typed by hand (/compare/CHILD/RUN/OTHER) is
  // tried at every slash.
  function candidates(rest) {
    const parts = rest.replace(/\/+$/, "").split("/");
    const out = [];
    for (let i = 1; i < parts.length; i++) {
      out.push([parts.slice(0, i).join("/"), parts.slice(i).join("/")].map(decodeURIComponent));
    }
    return out;
  }

  function int(n) {
    return Number(n).toLocaleString("en-US");
  }

  function duration(ms) {
    const seconds = Math.abs(ms) / 1000;
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
  }

  // One side's value of a figure, as the table shows it.
  function figureText(name, value) {
    if (value === null || value === undefined) return "–";
    if (typeof value !== "number") return String(value);
    if (name === "cost_usd") return `$${value.toFixed(4)}`;
    if (name === "wall_ms") return duration(value);
    return int(value);
  }

  // B − A, signed ("" when either side is no number; "0" when equal).
  function deltaText(name, delta) {
    if (delta === null || delta === undefined) return "";
    if (delta === 0) return "0";
    const sign = delta > 0 ? "+" : "−";
    if (name === "cost_usd") return `${sign}$${Math.abs(delta).toFixed(4)}`;
    if (name === "wall_ms") return `${sign}${duration(delta)}`;
    return `${sign}${int(Math.abs(delta))}`;
  }

  // The table's row class: whether B has more, less or the same; a text figure that
  // differs is "changed".
  function figureClass(figure) {
    const d = figure.delta;
    if (d !== null && d !== undefined) return d > 0 ? "more" : d < 0 ? "less" : "same";
    return JSON.stringify(figure.a) === JSON.stringify(figure.b) ? "same" : "changed";
  }

  // A setting's value as text: None is the built-in.
  function settingText(value) {
    if (value === null || value === undefined) return "(built-in)";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // Where the runs part, as rows of {kind, text, links: [{text, href}]}: the lineage (a
  // fork or what-if of the other), a what-if's divergence, the first differing event.
  function parting(cmp, idA, idB) {
    const rows = [];
    const id = { a: idA, b: idB };
    const lin = cmp.lineage;
    if (lin) {
      const child = lin.child, parent = child === "a" ? "b" : "a";
      const C = child.toUpperCase(), P = parent.toUpperCase();
      rows.push({
        kind: "lineage",
        text: `${C} is a ${lin.what_if ? "what-if" : "fork"} of ${P}: it copied ${P}'s first ${lin.at_seq === 1 ? "event" : `${lin.at_seq} events`}.`,
        links: [
          { text: `${P} #${lin.at_seq}`, href: runHref(id[parent], lin.at_seq) },
          { text: `${C} #${lin.marker_seq}`, href: runHref(id[child], lin.marker_seq) },
        ],
      });
      const dv = lin.diverged;
      if (dv) {
        const where = dv.source_seq === null || dv.source_seq === undefined ? "" : ` at ${P} seq ${dv.source_seq}`;
        const links = [{ text: `${C} #${dv.seq}`, href: runHref(id[child], dv.seq) }];
        if (where) links.push({ text: `${P} #${dv.source_seq}`, href: runHref(id[parent], dv.source_seq) });
        rows.push({
          kind: "diverged",
          text: `Diverged: ${C}'s ${dv.step} request differs from ${P}'s${where}${dv.reason ? `: ${dv.reason}` : "."}`,
          links,
        });
      } else if (lin.what_if) {
        rows.push({ kind: "diverged", text: `${C} never left the recording.`, links: [] });
      }
    }
    const first = cmp.first_difference;
    if (first) {
      const side = (s) => (first[`${s}_seq`] === null ? `${s.toUpperCase()} has ended` : `${s.toUpperCase()} ${first[`${s}_type`]}`);
      const fields = first.fields && first.fields.length ? ` (${first.fields.join(", ")})` : "";
      const links = [];
      for (const s of ["a", "b"]) {
        const seq = first[`${s}_seq`];
        if (seq !== null && seq !== undefined) links.push({ text: `${s.toUpperCase()} #${seq}`, href: runHref(id[s], seq) });
      }
      rows.push({ kind: "first-difference", text: `First differing event: ${side("a")} / ${side("b")}${fields}.`, links });
    } else {
      rows.push({ kind: "first-difference", text: "No event differs.", links: [] });
    }
    return rows;
  }

  // How a path was changed by one run (None: it was not).
  function changeText(status) {
    return status || "unchanged";
  }

  return { runHref, compareHref, candidates, figureText, deltaText, figureClass, settingText, parting, changeText };
})();
