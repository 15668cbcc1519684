"""data/files.py: a file is replaced whole or not at all."""

from __future__ import annotations

import stat

import pytest

from data.files import replacing, write_atomic


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "deep" / "rules.toml"
    write_atomic(path, "旧\n")
    write_atomic(path, "新\n")
    assert path.read_text(encoding="utf-8") == "新\n"
    assert [p.name for p in path.parent.iterdir()] == ["rules.toml"]


def test_a_failed_write_leaves_the_old_file_as_it_was(tmp_path):
    path = tmp_path / "users.toml"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError), replacing(path) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["users.toml"]


def test_a_private_file_is_the_owners_only(tmp_path):
    path = tmp_path / "first_admin_password"
    write_atomic(path, b"secret\n", private=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
