"""A scratch directory on a tmpfs (``/dev/shm``) when the machine has one.

Crash tests copy, kill and rebuild a target hundreds of times; what they check does not
depend on the disk (a SIGKILL keeps the page cache; a simulated power cut is computed, not
real), so on a tmpfs their thousands of fsyncs cost nothing instead of seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_dir(fallback: Path) -> Iterator[Path]:
    """A fresh directory on ``/dev/shm`` (removed afterwards), else ``fallback``."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield fallback
        return
    where = Path(tempfile.mkdtemp(prefix="agentlog-test-", dir=shm))
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)
