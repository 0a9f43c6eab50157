"""``agentlog report DIR [DIR2]``: an evaluation's pass rate, costs and, for two, flips."""

from __future__ import annotations

import argparse
import json

from actors.cli.args import json_arg
from actors.cli.streams import say
from actors.cli.terminal import inert
from actors.eval.report import Comparison, EvalReport
from actors.views.report import eval_reports, report_data

__all__ = ["args_report", "cmd_report"]


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f}%"


def _money(cost: float | None) -> str:
    return "-" if cost is None else f"${cost:.4f}"


def _show(rep: EvalReport) -> None:
    width = max([len(t.task_id) for t in rep.tasks] + [4])
    say(f"{inert(rep.dir)}")
    say(
        f"{'task':<{width}}  {'passed':>9} {'rate':>7} {'tokens':>10} {'cost':>9} "
        f"{'turns':>6} {'seconds':>8}"
    )
    for t in rep.tasks:
        say(
            f"{inert(t.task_id):<{width}}  {f'{t.passed}/{t.checked}':>9} {_pct(t.pass_rate):>7} "
            f"{t.tokens:>10,.0f} {_money(t.cost_usd):>9} {t.turns:>6.1f} {t.seconds:>8.1f}"
        )
    low, high = rep.ci95
    unchecked = f", {rep.runs - rep.checked} not checked" if rep.runs > rep.checked else ""
    say(
        f"pass rate {_pct(rep.pass_rate)} ({rep.passed}/{rep.checked} runs{unchecked}), "
        f"95% CI {_pct(low)} to {_pct(high)} (Wilson)"
    )
    say(
        f"tokens {rep.tokens:,}: input {rep.input_tokens:,}, cache writes "
        f"{rep.cache_creation_input_tokens:,}, cache reads {rep.cache_read_input_tokens:,}, "
        f"output {rep.output_tokens:,}"
    )
    say(
        f"per run: {rep.mean_tokens:,.0f} tokens, {_money(rep.mean_cost_usd)}, "
        f"{rep.mean_turns:.1f} turns, {rep.mean_seconds:.1f} s; cost {_money(rep.cost_usd)}"
    )


def _show_comparison(cmp: Comparison) -> None:
    say(f"\npaired over {cmp.common_tasks} tasks (a task passes when half its samples do):")
    say(f"  fixed in the second ({len(cmp.fixed)}): {', '.join(map(inert, cmp.fixed)) or '-'}")
    say(
        f"  regressed in the second ({len(cmp.regressed)}): "
        f"{', '.join(map(inert, cmp.regressed)) or '-'}"
    )
    say(f"  McNemar exact p = {cmp.p_value:.4g}")
    for label, only in (("first", cmp.only_in_first), ("second", cmp.only_in_second)):
        if only:
            say(f"  only in the {label} ({len(only)}): {', '.join(map(inert, only))}")


def cmd_report(args: argparse.Namespace) -> int:
    reports = eval_reports(args.dir, args.dir2)
    if args.json:
        say(json.dumps(report_data(reports), indent=2))
        return 0
    first, second, comparison = reports
    _show(first)
    if second is not None and comparison is not None:
        say("")
        _show(second)
        _show_comparison(comparison)
    return 0


def args_report(p: argparse.ArgumentParser) -> str:
    """``agentlog report``'s arguments; returns its example."""
    p.add_argument("dir", metavar="DIR", help="an evaluation's runs directory (agentlog eval)")
    p.add_argument("dir2", metavar="DIR2", nargs="?", help="a second one, compared task by task")
    json_arg(p, "the report")
    return "agentlog report runs/before runs/after"
