"""Old home of ``replay`` and ``fork``; see :mod:`actors.replaying`, :mod:`actors.forking`."""

from actors.forking import check_fork_point, fork
from actors.replaying import ReplayReport, first_difference, replay

__all__ = ["ReplayReport", "check_fork_point", "first_difference", "fork", "replay"]
