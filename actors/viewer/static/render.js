// Renderers for what a run holds: artifacts, diffs, test output, charts. Text only.
"use strict";

function renderPlan(plan) {
  return el("div", { className: "artifact plan" },
    el("p", { className: "lead", text: plan.summary }),
    el("ol", { className: "plan-steps" },
      (plan.steps || []).map((step) =>
        el("li", {},
          el("strong", { text: step.title }),
          el("p", { text: step.description }),
          step.files && step.files.length
            ? el("div", { className: "paths" }, step.files.map((f) => el("code", { text: f })))
            : null))),
    plan.risks && plan.risks.length
      ? el("div", { className: "risks" }, el("h4", { text: "Risks" }),
          el("ul", {}, plan.risks.map((r) => el("li", { text: r }))))
      : null);
}

function renderReview(review) {
  return el("div", { className: "artifact review" },
    el("div", { className: "title-row" }, badge(review.verdict), el("p", { className: "lead", text: review.summary })),
    (review.comments || []).length
      ? el("ul", { className: "comments" },
          review.comments.map((c) =>
            el("li", { className: `sev-${c.severity}` },
              badge(c.severity, c.severity),
              c.path ? el("code", { text: c.line ? `${c.path}:${c.line}` : c.path }) : null,
              el("span", { text: c.message }))))
      : el("p", { className: "muted", text: "No comments." }));
}

function renderCodeFiles(code) {
  return el("div", { className: "artifact code" },
    code.notes ? el("p", { className: "lead", text: code.notes }) : null,
    (code.files || []).map((f) =>
      el("details", { className: "file", open: true },
        el("summary", {}, el("code", { text: f.path }), el("span", { className: "muted", text: ` ${f.content.split("\n").length} lines` })),
        el("pre", { className: "source", text: f.content }))));
}

function renderDiff(text) {
  const pre = el("pre", { className: "diff" });
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let cls = "ctx";
    if (line.startsWith("+++") || line.startsWith("---")) cls = "meta";
    else if (line.startsWith("@@")) cls = "hunk";
    else if (line.startsWith("+")) cls = "add";
    else if (line.startsWith("-")) cls = "del";
    pre.appendChild(el("span", { className: `line ${cls}`, text: line }));
  }
  return pre;
}

function renderTests(test) {
  const ok = test.exit_code === 0 && !test.timed_out;
  const result = test.timed_out ? "timed out" : `exit ${test.exit_code}`;
  return el("div", { className: "card test" },
    el("div", { className: "title-row" },
      badge(ok ? "passed" : "failed", ok ? "completed" : "failed"),
      el("code", { text: (test.command || []).join(" ") }),
      el("span", { className: "muted", text: `${result} · ${fmtMs(test.duration_ms)} · round ${test.round}` }),
      seqLink(test.seq)),
    el("pre", { className: "output", text: test.output || "(no output)" }),
    test.truncated ? el("p", { className: "muted", text: "Output truncated by the recorder." }) : null);
}

function seqLink(seq) {
  return el("a", { className: "seq-link", href: `#seq-${seq}`, text: `#${seq}` });
}

// A horizontal bar chart in inline SVG: rows of {label, parts: [{value, cls, name}]}.
function barChart(title, rows, format) {
  const width = 360, labelW = 64, valueW = 86, barH = 20, gap = 10;
  const max = Math.max(1e-9, ...rows.map((r) => r.parts.reduce((a, p) => a + (p.value || 0), 0)));
  const height = rows.length * (barH + gap) + 8;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  chart.appendChild(svg("title", {}, title));
  rows.forEach((row, i) => {
    const y = 4 + i * (barH + gap);
    chart.appendChild(svg("text", { x: 0, y: y + barH * 0.7, class: "chart-label" }, row.label));
    let x = labelW;
    let total = 0;
    for (const part of row.parts) {
      const w = ((part.value || 0) / max) * (width - labelW - valueW);
      if (w > 0) {
        const rect = svg("rect", { x, y, width: Math.max(w, 1), height: barH, rx: 3, class: part.cls });
        rect.appendChild(svg("title", {}, `${part.name}: ${format(part.value)}`));
        chart.appendChild(rect);
      }
      x += w;
      total += part.value || 0;
    }
    chart.appendChild(svg("text", { x: x + 6, y: y + barH * 0.7, class: "chart-value" }, row.missing ? "–" : format(total)));
  });
  return el("figure", { className: "chart-box" }, el("figcaption", { text: title }), chart);
}
