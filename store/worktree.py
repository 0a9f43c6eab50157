"""The working copy at any event: a projection of the log, never of a live directory.

The working copy is the workspace's recorded base (an empty tree for a run without one),
changed, in log order, by every change the log records: a ``CodeProduced``'s change set
(for a run without a workspace, its file set, which replaces the working copy as
``files/`` has always shown it; a person's edited code at an approval likewise) and every
``ToolResulted``'s ``edits``, whose bytes are objects in ``objects/``. The edits of a
step's attempt hold until the attempt ends: a ``CodeProduced`` keeps them (one made
``by_tools`` is their sum, so it adds nothing more), a ``StepFailed`` of that step drops
them, as a retry starts from the working copy before the failed attempt.
:func:`working_copy_at` folds a stream of events up to a ``seq`` in one pass, holding only
the tree. :func:`record_edit` and :func:`record_output` are what a tool loop uses to put
a change's bytes, and a long output whole, in ``objects/`` before it logs the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from events import (
    ApprovalDecided,
    CodeChange,
    CodeProduced,
    Event,
    FileEdit,
    StepFailed,
    ToolResulted,
    UnknownEvent,
    WorkflowStarted,
    clip_output,
)
from store.objects import ObjectStore, object_hash
from store.paths import normalize_rel
from store.tree import Entry, Tree, base_tree, normal_path

__all__ = ["WorkingCopy", "apply_edits", "record_edit", "record_output", "working_copy_at"]


def working_copy_at(
    events: Iterable[Event | UnknownEvent], objects: ObjectStore, seq: int | None = None
) -> Tree:
    """The working copy after event ``seq`` (default: after the last event).

    ``events`` are a log's events in log order; those after ``seq`` are not read. Events
    that change no file (and events this version does not know) leave the working copy as
    it was, so a log written before tool calls existed projects as it always did.
    """
    copy = WorkingCopy(objects)
    for ev in events:
        if seq is not None and ev.seq > seq:
            break
        copy.feed(ev)
    return copy.tree


class WorkingCopy:
    """The working copy folded event by event: :attr:`tree` is the one after the last
    event fed (what :func:`working_copy_at` returns), so a reader that needs it at every
    event (the viewer's per-call diffs) folds the log once.

    A run without a workspace shows each code version's files; that tree (every file
    hashed) is built only when it is asked for, so folding a long run that never edits
    between versions costs no hashing.
    """

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._tree: Tree | None = Tree({}, {}, objects)
        self._kept: Tree | None = self._tree  # the copy before the running attempt's edits
        self._code: CodeChange | None = None  # the files of ``tree``/``_kept`` when None
        self._editing: str | None = None  # the step whose attempt made unkept edits
        self._workspace = False
        self._started = False

    @property
    def tree(self) -> Tree:
        """The working copy after the last event fed."""
        if self._tree is None:
            assert self._code is not None
            self._tree = _file_set(self._code, self.objects)
            if self._kept is None:
                self._kept = self._tree
        return self._tree

    @property
    def editing(self) -> str | None:
        """The step whose running attempt made edits not kept yet (a ``StepFailed`` of it
        drops them; until a tool call edits, no ``StepFailed`` changes the copy)."""
        return self._editing

    def replaced_by(self, versions: list[CodeProduced]) -> bool:
        """Whether feeding ``versions`` (code versions one after another, nothing else
        changing the copy between them) leaves the copy as feeding the last one alone does:
        in a run without a workspace a version without a change set replaces the copy."""
        return not self._workspace and not any(map(_change_of, versions))

    def _files(self, code: CodeChange) -> None:
        """The copy becomes ``code``'s files (and is kept), built when asked for."""
        self._tree = self._kept = None
        self._code = code

    def feed(self, ev: Event | UnknownEvent) -> None:
        """Change the working copy by what ``ev`` records (most events change nothing)."""
        if type(ev) is WorkflowStarted and not self._started:
            self._started = True
            if ev.workspace is not None:
                self._tree, self._workspace = base_tree(ev.workspace, self.objects), True
                self._kept = self._tree
        elif type(ev) is ToolResulted:
            if ev.edits:
                self._tree, self._editing = apply_edits(self.tree, ev.edits), ev.step
        elif type(ev) is StepFailed:
            if self._editing == ev.step:
                self._tree, self._editing = self._kept, None
        elif type(ev) is CodeProduced:
            if ev.change is not None and not ev.by_tools:
                self._tree = self.tree.apply(ev.change)
                self._kept = self._tree
            elif ev.change is None and not self._workspace:
                self._files(ev.code)
            else:
                self._kept = self._tree
            self._editing = None
        elif type(ev) is ApprovalDecided and ev.code is not None and not self._workspace:
            self._files(ev.code)


_change_of = attrgetter("change")


def apply_edits(tree: Tree, edits: Iterable[FileEdit]) -> Tree:
    """A new tree with ``edits`` applied in order (``tree`` is unchanged).

    A write puts the object's bytes at the path (whatever was there); a delete removes
    the path if it is there. A path that is unsafe or inside ``.git`` raises
    :class:`~store.tree.ChangeRejected` naming it.
    """
    entries = dict(tree.entries)
    for edit in edits:
        path = normal_path(edit.path)
        if edit.op == "delete":
            entries.pop(path, None)
        else:
            entries[path] = Entry(mode=edit.mode, hash=edit.hash, size=edit.size)
    return Tree(entries, tree.blocked, tree.objects)


def _file_set(code: CodeChange, objects: ObjectStore) -> Tree:
    """The working copy a run without a workspace shows: exactly ``code``'s files (a later
    entry for a path wins, as in ``files/``)."""
    entries: dict[str, Entry] = {}
    for change in code.files:
        data = change.content.encode("utf-8")
        path = "/".join(normalize_rel(change.path))
        entries[path] = Entry(mode=0o644, hash=object_hash(data), data=data, size=len(data))
    return Tree(entries, {}, objects)


def record_edit(objects: ObjectStore, path: str, data: bytes | None, mode: int = 0o644) -> FileEdit:
    """The edit writing ``data`` at ``path`` (None: deleting it), its bytes put in
    ``objects`` first so the event that lists it never names a missing object."""
    normal = normal_path(path)
    if data is None:
        return FileEdit(path=normal, op="delete")
    return FileEdit(path=normal, op="write", hash=objects.put(data), mode=mode, size=len(data))


def record_output(objects: ObjectStore, text: str) -> tuple[str, str]:
    """(what the log keeps of a tool's output, the digest of the whole output or "").

    A short output is kept whole; a long one is cut to its head and tail
    (:func:`~events.clip_output`) and put whole in ``objects``.
    """
    clipped = clip_output(text)
    if clipped is None:
        return text, ""
    return clipped, objects.put(text.encode("utf-8", "replace"))
