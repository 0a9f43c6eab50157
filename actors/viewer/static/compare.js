// The compare page: two runs of one task side by side (GET /api/runs/A/compare/B, what
// `agentlog diff RUN_A RUN_B --json` prints): where they part, with links to the seqs in
// each run's page, the settings that differ, the plan diff, the diff of diffs per file and
// the A | B | B − A figures. Everything from a log is text (el/textContent).
"use strict";

const C = CompareMath;

// The pair this path names, and its comparison: the first candidate both of whose runs
// are there (see CompareMath.candidates).
async function load() {
  const rest = location.pathname.slice("/compare/".length);
  let last = "no runs named";
  for (const [a, b] of C.candidates(rest)) {
    const response = await fetch(`/api/runs/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}`,
      { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (response.ok) return { a, b, cmp: body };
    last = body.error || response.statusText;
    if (response.status !== 404) break;
  }
  throw new Error(last);
}

function renderSides(ids, cmp) {
  const body = clear(document.querySelector("#sides tbody"));
  for (const s of ["a", "b"]) {
    const side = cmp[s];
    body.appendChild(el("tr", { className: `side-${s}` },
      el("th", { text: s.toUpperCase() }),
      el("td", {}, el("a", { className: "run-link", href: C.runHref(ids[s]), text: ids[s] })),
      el("td", {}, badge(side.status)),
      el("td", {}, side.verdict ? badge(side.verdict) : "–"),
      el("td", { className: "task-text", text: side.task })));
  }
  document.getElementById("other-task").hidden = cmp.same_task;
  document.getElementById("identical").hidden = !cmp.identical;
}

function renderParting(ids, cmp) {
  const list = clear(document.getElementById("parting"));
  for (const row of C.parting(cmp, ids.a, ids.b)) {
    list.appendChild(el("li", { className: row.kind }, el("span", { text: row.text }),
      row.links.flatMap((link) => [" ", el("a", { className: "seq-link", href: link.href, text: link.text })])));
  }
}

function renderSettings(cmp) {
  const box = clear(document.getElementById("settings"));
  if (!cmp.settings.length) { box.appendChild(el("p", { className: "muted", text: "No setting differs." })); return; }
  const body = el("tbody");
  for (const s of cmp.settings) {
    body.appendChild(el("tr", { dataset: { key: s.key } },
      el("td", {}, el("code", { text: s.key })),
      el("td", {}, el("pre", { className: "setting", text: C.settingText(s.a) })),
      el("td", {}, el("pre", { className: "setting", text: C.settingText(s.b) }))));
  }
  box.appendChild(el("table", { className: "grid settings" },
    el("thead", {}, el("tr", {}, ["setting", "A", "B"].map((h) => el("th", { text: h })))), body));
}

function renderPlan(cmp) {
  const box = clear(document.getElementById("plan"));
  if (cmp.plan.same) {
    box.appendChild(el("p", { className: "muted", text: cmp.plan.a.length ? "The plans are the same." : "Neither run has a plan." }));
  } else {
    box.appendChild(renderDiff(cmp.plan.diff));
  }
}

function renderChanges(cmp) {
  document.getElementById("changes-kind").textContent = cmp.changes_kind;
  const box = clear(document.getElementById("changes"));
  if (!cmp.changes.length) { box.appendChild(el("p", { className: "muted", text: "Neither run changed a file." })); return; }
  for (const f of cmp.changes) {
    box.appendChild(el("details", { className: `file diff-file ${f.same ? "same" : "differs"}`, open: !f.same },
      el("summary", {},
        el("code", { className: "path", text: f.path }), " ",
        el("span", { className: "muted", text: "A " }), badge(C.changeText(f.a), C.changeText(f.a)), " ",
        el("span", { className: "muted", text: "B " }), badge(C.changeText(f.b), C.changeText(f.b)), " ",
        el("span", { className: "muted", text: f.same ? "same result" : "results differ" })),
      f.same ? el("p", { className: "muted", text: "Both runs leave this file with the same content." }) : renderDiff(f.diff)));
  }
}

function renderFigures(cmp) {
  const body = clear(document.querySelector("#figures tbody"));
  for (const f of cmp.figures) {
    body.appendChild(el("tr", { className: `figure delta-${C.figureClass(f)}`, dataset: { figure: f.name } },
      el("td", { text: f.name }),
      el("td", { className: "num", text: C.figureText(f.name, f.a) }),
      el("td", { className: "num", text: C.figureText(f.name, f.b) }),
      el("td", { className: "num delta", text: C.deltaText(f.name, f.delta) })));
  }
}

async function start() {
  const { a, b, cmp } = await load();
  const ids = { a, b };
  document.title = `agentlog · ${a} vs ${b}`;
  renderSides(ids, cmp); renderParting(ids, cmp); renderSettings(cmp); renderPlan(cmp);
  renderChanges(cmp); renderFigures(cmp);
  document.getElementById("compare").hidden = false;
}

start().catch((e) => {
  const node = document.getElementById("error");
  node.hidden = false;
  node.textContent = `Could not compare these runs: ${e.message}`;
});
