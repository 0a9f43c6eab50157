"""The ``agentlog`` command line."""

from actors.cli.app import UsageError, WorkFailed, build_parser, main

__all__ = ["UsageError", "WorkFailed", "build_parser", "main"]
