"""What a run records of the workspace it starts from, and the changes the Coder makes to it.

:class:`WorkspaceBase` rides in ``WorkflowStarted``: the git commit, whether the tree was
dirty, and every file taken in (path, size, mode, content hash; the bytes live in the run's
``objects/``), plus every file left out and why. :class:`ChangeSet` is what the Coder
submits for a workspace: a list of operations (create, replace, delete, rename, and exact
search-and-replace edits) applied in order to the tree as it stands.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = [
    "BaseFile",
    "ChangeSet",
    "CreateFile",
    "DeleteFile",
    "EditFile",
    "FileOp",
    "LeftOut",
    "RenameFile",
    "ReplaceFile",
    "TestSource",
    "WorkspaceBase",
]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
#: Where a workspace's test command came from: ``--test-cmd``, a detection, or nowhere.
TestSource = Literal["config", "pytest", "unittest", "none"]


class BaseFile(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One file of the recorded base: its bytes are object ``hash`` in ``objects/``."""

    path: str
    size: int
    mode: int = 0o644
    hash: str


class LeftOut(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A path that was not taken in (or not shown to a model), and why."""

    path: str
    reason: str


class WorkspaceBase(msgspec.Struct, frozen=True, kw_only=True):
    """The workspace as the run found it; replay, resume and fork use this, never the disk.

    ``root`` is the directory as given (``agentlog apply``'s default target); ``commit``
    the git ``HEAD`` (None outside git); ``dirty`` whether tracked files differed from it.
    ``test_command`` is what runs the workspace's tests (empty: none) and ``test_source``
    says where it came from. ``credentials_allowed`` are the paths a person chose to take
    in although they are credential files or hold a secret (left out otherwise, and
    listed in ``left_out`` with the reason).
    """

    root: str
    commit: str | None = None
    dirty: bool = False
    files: tuple[BaseFile, ...] = ()
    left_out: tuple[LeftOut, ...] = ()
    max_file_bytes: int = 1_000_000
    test_command: tuple[str, ...] = ()
    test_source: TestSource = "none"
    credentials_allowed: tuple[str, ...] = ()


class CreateFile(
    msgspec.Struct, frozen=True, tag_field="op", tag="create", forbid_unknown_fields=True
):
    """Create a file that does not exist yet."""

    path: NonEmpty
    content: str


class ReplaceFile(
    msgspec.Struct, frozen=True, tag_field="op", tag="replace", forbid_unknown_fields=True
):
    """Replace the whole content of an existing file."""

    path: NonEmpty
    content: str


class DeleteFile(
    msgspec.Struct, frozen=True, tag_field="op", tag="delete", forbid_unknown_fields=True
):
    """Delete an existing file."""

    path: NonEmpty


class RenameFile(
    msgspec.Struct, frozen=True, tag_field="op", tag="rename", forbid_unknown_fields=True
):
    """Move an existing file to a path that does not exist yet, content unchanged."""

    path: NonEmpty
    to: NonEmpty


class EditFile(msgspec.Struct, frozen=True, tag_field="op", tag="edit", forbid_unknown_fields=True):
    """Replace the one exact occurrence of ``search`` in an existing file with ``replace``."""

    path: NonEmpty
    search: NonEmpty
    replace: str


FileOp = CreateFile | ReplaceFile | DeleteFile | RenameFile | EditFile


class ChangeSet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The Coder's answer for a workspace: operations applied in order, and notes.

    ``read_files`` asks to see more files first: an answer naming any is a request, its
    ``changes`` are not applied, and the Coder is asked again with those files shown.
    """

    changes: tuple[FileOp, ...] = ()
    notes: str = ""
    read_files: tuple[str, ...] = ()
