"""A run directory made by someone else is data, not permission.

Continuing a run (``resume``, ``retry``, ``approve``/``reject``/``review``, a batch
resuming one of its runs, ``fork``) executes code on this machine: the workspace's
tests, under the sandbox level the run's configuration names. A log can be written by
anyone, so what it records is never taken as the permission to run unconfined or to run
a command of its choosing. Those come from the person continuing the run, as a
:class:`Consent`: ``--sandbox none`` allows a recorded ``sandbox: none``, ``--test-cmd
CMD`` allows a recorded test command equal to ``CMD``, ``--trust-log`` allows
everything the log records. Without them :func:`check_continue` stops the run before
anything is written, with one line saying what the log asks for (exit 2).

What needs no consent: a confined sandbox (``auto``/``bwrap``), and a test command that
agentlog itself detects (pytest or unittest discovery on the recorded base), which only
ever runs inside that sandbox.
"""

from __future__ import annotations

import shlex

import msgspec

from events import SandboxPolicy, UsageError, WorkflowConfig, WorkspaceBase
from store.base import DETECTED_COMMANDS

__all__ = ["Consent", "LogAsksMore", "check_continue", "logged_test_command"]


class LogAsksMore(UsageError):
    """The log asks for more than the person continuing the run allowed (exit 2)."""


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    """What the person continuing a run allows it to execute.

    ``sandbox`` is the ``--sandbox`` they gave (None: not given, so a confined sandbox);
    ``test_cmd`` the ``--test-cmd`` they gave (None: not given); ``trust_log`` accepts
    whatever sandbox level and test command the log records.
    """

    sandbox: SandboxPolicy | None = None
    test_cmd: str | None = None
    trust_log: bool = False


def logged_test_command(config: WorkflowConfig, base: WorkspaceBase | None) -> tuple[str, ...]:
    """The test command a run with ``config`` and ``base`` executes, or ``()`` for none
    agentlog did not choose itself (tests off, or the command is one agentlog detects).

    ``--test-cmd`` runs whenever it is set (by ``sh -c``); a command recorded with the
    base runs when ``run_tests`` is on. Both are text in the log, so both count as the
    log's; a detected pytest or unittest command does not.
    """
    if config.test_cmd:
        return ("sh", "-c", config.test_cmd)
    if base is None or not config.run_tests or not base.test_command:
        return ()
    if base.test_command in DETECTED_COMMANDS:
        return ()
    return base.test_command


def check_continue(
    where: str, config: WorkflowConfig, base: WorkspaceBase | None, consent: Consent
) -> None:
    """Refuse (:class:`LogAsksMore`, one line naming ``where``) a continuation whose log
    asks for an unconfined sandbox or a test command that ``consent`` does not allow.

    ``config`` and ``base`` are what the continued run will execute with. Consent is a
    ceiling: a run recorded as confined stays confined under ``--sandbox none``, and a
    ``--test-cmd`` that the log does not ask for changes nothing (a fork changes both).
    """
    if consent.trust_log:
        return
    asks: list[str] = []
    allow: list[str] = []
    if config.sandbox == "none" and consent.sandbox != "none":
        asks.append("--sandbox none (tests run unconfined on this machine)")
        allow.append("--sandbox none")
    command = logged_test_command(config, base)
    trust_only = False
    if command and command != ("sh", "-c", consent.test_cmd or ""):
        if len(command) == 3 and command[:2] == ("sh", "-c"):
            shown = shlex.quote(command[2])
            asks.append(f"its test command {shown}")
            allow.append(f"--test-cmd {shown}")
        else:  # not something --test-cmd can say (sh -c CMD)
            asks.append(f"its test command {shlex.join(command)}")
            trust_only = True
    if not asks:
        return
    everything = "--trust-log to accept everything the log records"
    if trust_only:
        how = f"pass {everything}"
    else:
        how = f"pass {' '.join(allow)} to allow it (or {everything})"
    if config.sandbox == "none" and consent.sandbox in ("auto", "bwrap"):
        how += f"; to run it confined instead, fork it with --sandbox {consent.sandbox}"
    raise LogAsksMore(f"{where}: the log asks for {' and '.join(asks)}; {how}")
