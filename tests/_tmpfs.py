"""Shell steps run in a private mount namespace, where a test may mount a small tmpfs.

The disk-full tests fill a real file system: a tmpfs of a few MiB mounted inside
``unshare -m`` (as root) or ``unshare -Urm`` (a user namespace), so nothing outside the
test sees it. Steps that cannot mount exit 77, and the test skips with the reason (in CI,
where a skip fails, that is a failure naming it).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

__all__ = ["in_mount_namespace"]


def _unshare() -> list[str]:
    """A command prefix giving a private mount namespace where tmpfs can be mounted."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare(1) (util-linux) to mount a private tmpfs")
    for prefix in ([unshare, "-m"], [unshare, "-Urm"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return prefix
    pytest.skip("cannot make a mount namespace here (run as root or allow user namespaces)")


def in_mount_namespace(steps: str, timeout: float = 180) -> None:
    """Run the shell ``steps`` in a private mount namespace, with no model key or Convex
    address in their environment; skip when they could not mount (exit 77)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC", "CONVEX"))}
    done = subprocess.run(
        [*_unshare(), "sh", "-c", steps], capture_output=True, text=True, timeout=timeout, env=env
    )
    if done.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
