"""The host user a root-started test run drops to: one of its own, for the length of the run.

The kernel counts ``RLIMIT_NPROC`` per real user, host-wide, and does not count root's
processes at all. Were every run to drop to the same user (``nobody``), one run's
processes would count against every other run's limit (a batch's runs failing each
other's forks with ``EAGAIN``). So each run leases a user id of its own from a range no
account uses, :data:`FIRST` onwards, while it runs. A lease is an exclusive ``flock`` on a
file named after the id in :data:`LEASES`: the kernel drops it when the holder exits,
however it exits, so a crashed run never keeps its id. The id is handed back only after
every process of the run is dead and its scratch directory removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from events import AgentlogError
from store._lock import unlock_and_close

__all__ = ["COUNT", "FIRST", "LEASES", "Lease", "NoFreeUid", "lease"]

#: The first id of the range: above systemd's container range (524288-1879048191) and
#: below its "foreign" range (from 2147352576), so no account or container owns it.
FIRST = 0x7000_0000
#: How many ids the range has (as many test runs can run at once on one host).
COUNT = 65_536
#: Where the leases are held: one directory for every agentlog on the host.
LEASES = Path("/run" if os.path.isdir("/run") else "/tmp", "agentlog-sandbox-uids")


class NoFreeUid(AgentlogError):
    """No id can be leased: all are in use, or the lease directory is not ours alone."""


class Lease:
    """A user id held for one run; :meth:`release` (or the process's end) hands it back."""

    def __init__(self, uid: int, fd: int) -> None:
        self.uid = uid
        self._fd: int | None = fd

    def release(self) -> None:
        """Hand the id back (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            unlock_and_close(fd)  # a forked child's copy of fd keeps no lease


def lease() -> Lease:
    """The lowest id of the range that no other run holds, held until released."""
    LEASES.mkdir(mode=0o700, exist_ok=True)
    found = os.lstat(LEASES)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid() or found.st_mode & 0o022:
        # Someone else could swap its files and give two runs one id.
        raise NoFreeUid(f"{LEASES} is not a directory only this user can write")
    for uid in range(FIRST, FIRST + COUNT):
        fd = os.open(LEASES / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return Lease(uid, fd)
    raise NoFreeUid(f"all {COUNT} sandbox user ids in {LEASES} are in use")
