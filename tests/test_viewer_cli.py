"""``agentlog ui``: says where it listens, binds loopback by default, stops on Ctrl-C."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the viewer needs its extra: pip install -e '.[ui]'")

from _viewer import make_runs

from actors.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_main(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run_main("ui", str(tmp_path / "nope"))
    assert code == 2 and "no such directory" in err


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run_main("ui", str(tmp_path), "--port", "70000")
    assert code == 2 and "--port" in err


def test_the_command_serves_on_loopback_says_so_and_stops_on_interrupt(tmp_path: Path) -> None:
    root = make_runs(tmp_path / "runs")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = "import sys; from actors.cli import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "ui", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "bound to 127.0.0.1 only" in line
        token_line = proc.stdout.readline()  # decisions need the token it prints
        assert re.search(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{24,}", token_line), token_line
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url is not None, line
        with urllib.request.urlopen(url.group(0) + "api/runs", timeout=10) as response:
            ids = {run["id"] for run in json.load(response)["runs"]}
        assert {"demo", "demo-fork"} <= ids
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
