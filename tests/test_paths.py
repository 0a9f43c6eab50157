"""safe_path: only paths that stay strictly inside the root get through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import AgentlogError
from store.paths import (
    MAX_COMPONENTS,
    MAX_NAME_BYTES,
    MAX_PATH_BYTES,
    PathGuard,
    UnsafePath,
    normalize_rel,
    path_problem,
    safe_path,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    files = tmp_path / "files"
    files.mkdir()
    return files


def test_plain_nested_path_is_root_joined_with_it(root: Path) -> None:
    assert safe_path(root, "src/pkg/mod.py") == root / "src" / "pkg" / "mod.py"


def test_dot_and_empty_components_are_dropped(root: Path) -> None:
    assert safe_path(root, "./src//mod.py") == root / "src" / "mod.py"


def test_dotfiles_and_dots_inside_names_are_fine(root: Path) -> None:
    assert safe_path(root, ".github/x..y") == root / ".github" / "x..y"


@pytest.mark.parametrize(
    ("rel", "reason"),
    [
        ("", "empty"),
        ("a\x00b", "NUL"),
        ("/etc/passwd", "absolute"),
        ("//server/share/x", "absolute"),
        ("a\\b", "backslash"),
        ("\\\\server\\share\\x", "backslash"),
        ("C:/Windows/x", "drive"),
        ("c:x", "drive"),
        ("..", "'..'"),
        ("../x", "'..'"),
        ("a/../../b", "'..'"),
        ("a/..", "'..'"),
        ("./.", "names no file"),
        ("/", "absolute"),
        ("a/" + "x" * (MAX_NAME_BYTES + 1), "longer than"),
    ],
)
def test_lexically_unsafe_path_is_rejected_with_its_reason(
    root: Path, rel: str, reason: str
) -> None:
    with pytest.raises(UnsafePath, match=reason) as info:
        safe_path(root, rel)
    assert info.value.path == rel


def _path_of_bytes(total: int) -> str:
    """A path of exactly ``total`` bytes (UTF-8), in names of at most 200 bytes."""
    names, left = [], total
    while left > 201:
        names.append("n" * 200)
        left -= 201  # the name and its slash
    return "/".join([*names, "é" * (left // 2) + "x" * (left % 2)])


@pytest.mark.parametrize(
    ("rel", "problem"),
    [
        ("é" * (MAX_NAME_BYTES // 2) + "x" * (MAX_NAME_BYTES % 2), None),
        ("é" * (MAX_NAME_BYTES // 2) + "x" * (MAX_NAME_BYTES % 2 + 1), "longer than 255 bytes"),
        ("/".join(["d"] * MAX_COMPONENTS), None),
        ("/".join(["d"] * (MAX_COMPONENTS + 1)), "more than 64"),
        (_path_of_bytes(MAX_PATH_BYTES), None),
        (_path_of_bytes(MAX_PATH_BYTES + 1), "longer than 1024 bytes"),
    ],
    ids=[
        "name-at-limit",
        "name-over",
        "depth-at-limit",
        "depth-over",
        "path-at-limit",
        "path-over",
    ],
)
def test_the_limits_take_exactly_their_size_in_utf8_bytes(rel: str, problem: str | None) -> None:
    found = path_problem(rel)
    assert found is None if problem is None else (found is not None and problem in found)


def test_the_path_helper_makes_exact_sizes() -> None:
    for total in (MAX_PATH_BYTES, MAX_PATH_BYTES + 1, 300, 201, 202):
        assert len(_path_of_bytes(total).encode()) == total


def test_error_message_names_the_path(root: Path) -> None:
    with pytest.raises(UnsafePath) as info:
        safe_path(root, "../escape.txt")
    assert "'../escape.txt'" in str(info.value)


def test_unsafe_path_is_an_agentlog_error() -> None:
    assert issubclass(UnsafePath, AgentlogError)


def test_symlink_file_pointing_outside_is_rejected(root: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    (root / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafePath, match="outside"):
        safe_path(root, "link")


def test_symlinked_directory_component_pointing_outside_is_rejected(
    root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "dir").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match="outside"):
        safe_path(root, "dir/new.py")


def test_dangling_symlink_pointing_outside_is_rejected(root: Path, tmp_path: Path) -> None:
    (root / "dangling").symlink_to(tmp_path / "does-not-exist")
    with pytest.raises(UnsafePath, match="outside"):
        safe_path(root, "dangling")


def test_symlink_pointing_inside_the_root_is_accepted(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    assert safe_path(root, "alias/x.py") == root / "alias" / "x.py"


def test_symlink_to_the_root_itself_is_rejected(root: Path) -> None:
    (root / "self").symlink_to(root, target_is_directory=True)
    with pytest.raises(UnsafePath, match="itself"):
        safe_path(root, "self")


def test_symlink_loop_is_rejected(root: Path) -> None:
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")
    with pytest.raises(UnsafePath):
        safe_path(root, "a/x")


def test_root_that_does_not_exist_yet_still_confines(tmp_path: Path) -> None:
    root = tmp_path / "later"
    assert safe_path(root, "x/y") == root / "x" / "y"
    with pytest.raises(UnsafePath):
        safe_path(root, "x/../../y")


def test_a_set_checked_whole_is_refused_at_its_first_path_leaving_an_existing_root(
    root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "dir").symlink_to(outside, target_is_directory=True)
    guard = PathGuard(str(root))
    guard.check_all(["a.py", "pkg/b.py"])
    with pytest.raises(UnsafePath, match="outside") as caught:
        guard.check_all(["a.py", "dir/new.py", "../c.py"])
    assert caught.value.path == "dir/new.py"


def test_a_set_checked_whole_under_a_root_that_does_not_exist_meets_the_lexical_rules(
    tmp_path: Path,
) -> None:
    guard = PathGuard(str(tmp_path / "later"))
    guard.check_all(["a.py", "pkg/./b.py"])
    with pytest.raises(UnsafePath, match=r"'\.\.' components") as caught:
        guard.check_all(["a.py", "pkg/../../c.py"])
    assert caught.value.path == "pkg/../../c.py"
    assert guard.check("x/y") == tmp_path / "later" / "x" / "y"


def test_normalize_rel_returns_components() -> None:
    assert normalize_rel("a/./b//c") == ("a", "b", "c")


_COMPONENTS = st.sampled_from(
    ["..", ".", "", "a", "b.py", "/", "C:", "\\", "x\x00", "out", "in", "..."]
)
_HOSTILE = st.one_of(
    st.lists(_COMPONENTS, min_size=1, max_size=6).map("/".join),
    st.lists(_COMPONENTS, min_size=1, max_size=6).map("".join),
    st.text(max_size=30),
)


@settings(
    derandomize=True,
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rel=_HOSTILE)
def test_any_accepted_path_resolves_strictly_inside_root(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "files"
    if not root.exists():
        root.mkdir()
        (tmp_path / "target").mkdir()
        (root / "out").symlink_to(tmp_path / "target", target_is_directory=True)
        (root / "in").mkdir()
    try:
        path = safe_path(root, rel)
    except UnsafePath as exc:
        assert exc.path == rel
        return
    real_root = root.resolve()
    assert real_root in path.resolve().parents
    assert os.path.commonpath([root, path]) == str(root)
