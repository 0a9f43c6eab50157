"""Commands that examine a run: ``stats`` and ``replay``."""

from __future__ import annotations

import argparse
import sys

import msgspec

from actors.cli.read_cmds import open_log
from actors.pricing import cost_usd
from store import StepStats, step_stats, total_stats

__all__ = ["cmd_replay", "cmd_stats"]


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _row(s: StepStats) -> dict[str, object]:
    cost = cost_usd(s.usage_by_model)
    return {
        "step": s.step,
        "attempts": s.attempts,
        "failures": s.failures,
        "failures_by_kind": s.failures_by_kind,
        "wall_ms": s.wall_ms,
        "model_calls": s.model_calls,
        "latency_ms": s.latency_ms,
        "input_tokens": s.usage.input_tokens,
        "output_tokens": s.usage.output_tokens,
        "cache_creation_input_tokens": s.usage.cache_creation_input_tokens,
        "cache_read_input_tokens": s.usage.cache_read_input_tokens,
        "models": list(s.models),
        "cost_usd": cost,
    }


def cmd_stats(args: argparse.Namespace) -> int:
    log = open_log(args.run)
    per_step = step_stats(log.read())
    rows = [_row(s) for s in [*per_step, total_stats(per_step)]]
    if args.json:
        sys.stdout.write(msgspec.json.encode(rows).decode() + "\n")
        return 0
    head = (
        f"{'step':<8}{'attempts':>9}{'failures':>9}{'wall':>9}{'model':>9}"
        f"{'in':>9}{'out':>8}{'cache r/w':>13}{'cost $':>10}  failures by kind"
    )
    print(head)
    print("─" * len(head))
    for r in rows:
        if r["step"] == "total":
            print("─" * len(head))
        kinds = ", ".join(f"{k} x{n}" for k, n in r["failures_by_kind"].items())  # type: ignore[attr-defined]
        cost = "-" if r["cost_usd"] is None else f"{r['cost_usd']:.4f}"
        cache = f"{r['cache_read_input_tokens']:,}/{r['cache_creation_input_tokens']:,}"
        print(
            f"{r['step']:<8}{r['attempts']:>9}{r['failures']:>9}"
            f"{_fmt_ms(r['wall_ms']):>9}{_fmt_ms(r['latency_ms']):>9}"  # type: ignore[arg-type]
            f"{r['input_tokens']:>9,}{r['output_tokens']:>8,}{cache:>13}{cost:>10}  {kinds}"
        )
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from actors.durable import replay

    log = open_log(args.run)
    report = replay(log.path.parent)
    print(report.verdict)
    return 0 if report.ok else 1
