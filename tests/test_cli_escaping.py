"""Text from a model or a log never acts on the terminal: control characters are shown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from _cli import cli, write_script
from _workflow import CODE, PLAN, answer
from hypothesis import given
from hypothesis import strategies as st

from actors.cli.terminal import inert

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202egnp.exe\x00"
#: Anything that could act on a terminal: C0 but none, DEL, C1, bidi controls.
ACTIVE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@given(st.text())
def test_inert_text_holds_no_control_character(text: str) -> None:
    assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", inert(text))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Zl", "Zp"))))
def test_inert_leaves_printable_text_alone(text: str) -> None:
    assert inert(text) == text


def test_inert_json_keeps_the_layout_and_the_meaning() -> None:
    text = json.dumps({"a": "x\x9by\u202e"}, indent=2, ensure_ascii=False)
    shown = inert(text, json=True)
    assert "\n" in shown and not ACTIVE.search(shown)
    assert json.loads(shown) == json.loads(text)


def _hostile_script(path: Path) -> Path:
    plan: dict[str, Any] = {**PLAN, "summary": f"plan {HOSTILE}"}
    review = {
        "verdict": "approve",
        "summary": f"ok {HOSTILE}",
        "comments": [{"severity": "info", "message": HOSTILE}],
    }
    return write_script(
        path,
        plan=[answer(plan)],
        code=[{"error": {"kind": "overloaded", "message": HOSTILE}}, answer(CODE)],
        review=[answer(review)],
    )


def test_control_characters_from_the_model_reach_no_output(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = cli("run", "t", "--script", _hostile_script(tmp_path / "s.json"), "--run-dir", run)
    assert done.returncode == 0, done.stderr
    assert "plan \\u001b]0;pwned\\u0007" in done.stdout  # shown, not acted on
    outputs = [done.stdout, done.stderr]
    for command in (["log"], ["log", "--json"], ["show", "3"], ["stats"], ["stats", "--json"]):
        shown = cli(*command[:1], run, *command[1:])
        assert shown.returncode == 0, shown.stderr
        outputs += [shown.stdout, shown.stderr]
    for text in outputs:
        assert not ACTIVE.search(text), ACTIVE.search(text)
