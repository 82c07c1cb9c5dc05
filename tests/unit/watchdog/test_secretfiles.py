"""Unit tests of watchdog.secretfiles: the per-call folder of secret files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from faas.secretstore import SecretError, SecretNotFound
from watchdog.secretfiles import folder_prefix, remove_leftovers, secret_files, write_folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_folder_makes_read_only_files_under_a_private_parent(tmp_path: Path) -> None:
    folder = write_folder({"api-key": b"s3cret", "bin": b"\x00\xff"}, tmp_path)
    assert folder.parent.parent == tmp_path
    assert mode(folder.parent) == 0o700
    assert mode(folder) == 0o755
    assert sorted(p.name for p in folder.iterdir()) == ["api-key", "bin"]
    assert (folder / "api-key").read_bytes() == b"s3cret"
    assert (folder / "bin").read_bytes() == b"\x00\xff"
    assert {mode(p) for p in folder.iterdir()} == {0o444}


def test_write_folder_refuses_a_name_that_is_not_a_plain_file_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid secret name"):
        write_folder({"../escape": b"x"}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_secret_files_removes_the_folder_after_use_and_on_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    asked: list[list[str]] = []

    def provider(names: list[str]) -> dict[str, bytes]:
        asked.append(names)
        return {name: b"v" for name in names}

    with secret_files(["a", "b"], provider) as folder:
        assert folder is not None and (folder / "a").read_bytes() == b"v"
    assert asked == [["a", "b"]]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), secret_files(["a"], provider):
        raise RuntimeError("the call failed")
    assert list(tmp_path.iterdir()) == []


def test_secret_files_without_names_needs_no_provider() -> None:
    with secret_files([], None) as folder:
        assert folder is None


def test_secret_files_says_why_it_cannot_give_secrets(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="no secrets key"), secret_files(["a"], None):
        pass

    def missing(names: list[str]) -> dict[str, bytes]:
        raise SecretNotFound(names[0])

    with (
        pytest.raises(SecretNotFound, match="secret 'a' does not exist"),
        secret_files(["a"], missing),
    ):
        pass


def test_leftovers_of_a_killed_run_are_found_by_owner_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with secret_files(["a"], lambda names: {"a": b"v"}, "wd/1") as used:
        assert used is not None and used.parent.name.startswith(folder_prefix("wd/1"))
    mine = write_folder({"a": b"v"}, prefix=folder_prefix("wd/1"))  # its run was killed
    other = write_folder({"a": b"v"}, prefix=folder_prefix("wd-2"))
    assert folder_prefix("wd/1") == "faas-secrets-wd_1-"
    assert remove_leftovers("wd/1") == 1
    assert not mine.parent.exists() and other.exists()
    assert remove_leftovers("wd/1") == 0
