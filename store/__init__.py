"""agentlog's store: the append-only JSONL event log and the projections built from it."""

from store.errors import LogCorrupt, LogError, LogLocked, NotALog, TornTail
from store.log import (
    LOG_NAME,
    AppendListener,
    EventLog,
    LogWriter,
    RepairReport,
    VerifyReport,
    resolve_log_path,
)

__all__ = [
    "LOG_NAME",
    "AppendListener",
    "EventLog",
    "LogCorrupt",
    "LogError",
    "LogLocked",
    "LogWriter",
    "NotALog",
    "RepairReport",
    "TornTail",
    "VerifyReport",
    "resolve_log_path",
]
