"""The recorded base, byte for byte: which files, in what order, and the pack they make.

A workspace with every kind of entry the recording must handle (nested directories, an
executable, links inside and leaving it, a FIFO where git expects a file, a name that is
not UTF-8, empty and duplicate files, a file larger than a read block and than the pack's
writeback step, binaries, a secret, a credential file) is recorded, and the result is
compared with what the rules in :mod:`store.base` say, worked out here independently:
the base's entries, and the one pack whose bytes are the kept files' contents end to end
(each once, in path order) with its ``hash offset size`` index.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from _repo import commit_all, git, needs_git, write

from store import ObjectStore, record_base
from store._pack_files import WRITEBACK_EVERY

pytestmark = needs_git

#: Bytes longer than a read block (1 MiB) and than the pack's writeback step.
BIG = b"".join(b"line %d of a long text file\n" % i for i in range(WRITEBACK_EVERY // 20))
TOKEN = "ghp_" + "A1b2C3d4E5" * 4


def _workspace(repo: Path, outside: Path) -> None:
    outside.write_text("outside\n")
    write(
        repo,
        {
            "README.md": "# demo\n",
            "a/b/c/deep.py": "x = 1\n",
            "a/b/c/same.py": "x = 1\n",  # the same bytes as deep.py: stored once
            "a/empty.py": "",
            "bin/run.sh": "#!/bin/sh\necho run\n",
            "big.txt": BIG,
            "caf\u00e9.txt": "caf\u00e9 au lait\n",  # UTF-8 that is not ASCII
            "image.png": b"\x89PNG\r\n\x1a\n\0\0",
            "latin1.txt": b"caf\xe9\n",
            "leak.py": f"TOKEN = '{TOKEN}'\n",
            ".env": "PASSWORD=hunter2\n",
            "pipe": "becomes a FIFO\n",
        },
    )
    (repo / "bin/run.sh").chmod(0o755)
    (repo / b"caf\xe9.py".decode("utf-8", "surrogateescape")).write_text("name\n")
    (repo / "link_in").symlink_to("README.md")
    (repo / "link_out").symlink_to(outside)
    git(repo, "init", "-q")
    commit_all(repo, "all kinds")
    (repo / "pipe").unlink()
    os.mkfifo(repo / "pipe")


def test_the_base_and_its_pack_are_exactly_the_kept_files_in_path_order(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    _workspace(repo, tmp_path / "outside.txt")
    run = tmp_path / "run"

    base = record_base(repo, run, max_file_bytes=2 * len(BIG))

    kept = {
        "README.md": 0o644,
        "a/b/c/deep.py": 0o644,
        "a/b/c/same.py": 0o644,
        "a/empty.py": 0o644,
        "big.txt": 0o644,
        "bin/run.sh": 0o755,
        "caf\u00e9.txt": 0o644,
    }
    expected = []
    for rel, mode in sorted(kept.items()):
        data = (repo / rel).read_bytes()
        expected.append((rel, len(data), mode, hashlib.sha256(data).hexdigest()))
    assert [(f.path, f.size, f.mode, f.hash) for f in base.files] == expected
    assert {item.path: item.reason for item in base.left_out} == {
        ".env": "a credential file (an environment file)",
        "caf\\xe9.py": "file name is not UTF-8",
        "image.png": "binary",
        "latin1.txt": "binary (not UTF-8 text)",
        "leak.py": "holds a secret (GitHub token)",
        "link_in": "a symlink (links are not taken in)",
        "link_out": "a symlink leaving the workspace",
        "pipe": "not a regular file",
    }

    pack, index, offset, seen = b"", "", 0, set()
    for rel, size, _, digest in expected:
        if digest in seen:
            continue
        seen.add(digest)
        pack += (repo / rel).read_bytes()
        index += f"{digest} {offset} {size}\n"
        offset += size
    name = hashlib.sha256(index.encode()).hexdigest()[:40]
    packs = run / "objects" / "packs"
    assert sorted(os.listdir(packs)) == [f"{name}.idx", f"{name}.pack"]
    assert (packs / f"{name}.pack").read_bytes() == pack
    assert (packs / f"{name}.idx").read_text() == index
    assert sorted(os.listdir(run / "objects")) == ["packs"]


def test_a_blob_already_stored_is_not_written_again(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(repo, {"one.py": "one\n", "two.py": "two\n", "three.py": "three\n"})
    git(repo, "init", "-q")
    commit_all(repo, "three")
    run = tmp_path / "run"
    stored = ObjectStore(run)
    stored.put(b"two\n")  # loose, before the base is recorded
    stored.put_many([b"three\n", b"other\n"])  # packed

    base = record_base(repo, run)

    assert [f.path for f in base.files] == ["one.py", "three.py", "two.py"]
    packs = sorted((run / "objects" / "packs").glob("*.pack"))
    assert sorted(p.read_bytes() for p in packs) == [b"three\nother\n"]
    loose = hashlib.sha256(b"one\n").hexdigest()  # the lone new blob: loose
    assert (run / "objects" / loose[:2] / loose[2:]).read_bytes() == b"one\n"


@pytest.mark.parametrize("size", [WRITEBACK_EVERY - 1, WRITEBACK_EVERY, 3 * WRITEBACK_EVERY + 5])
def test_a_pack_written_back_as_it_grows_holds_the_same_bytes(tmp_path: Path, size: int) -> None:
    blobs = [bytes([65 + i]) * (size // 3 + i) for i in range(3)]
    assert all(new for _, new in ObjectStore(tmp_path / "run").put_many(blobs))
    (pack,) = (tmp_path / "run" / "objects" / "packs").glob("*.pack")
    assert pack.read_bytes() == b"".join(blobs)
    stored = ObjectStore(tmp_path / "run")
    assert [stored.get(hashlib.sha256(b).hexdigest()) for b in blobs] == blobs
