"""A runtime on a fresh store over the tiny region, as most data tests want one."""

from __future__ import annotations

from pathlib import Path


def tiny_runtime(folder: Path, region_dir: Path, **settings):
    """A :class:`~data.runtime.Runtime` on ``folder/o.duckdb`` over the tiny region in
    ``region_dir``: simulator and sign-in off, users in ``folder``; ``settings`` override."""
    from data.runtime import Runtime
    from data.settings import load_settings

    defaults = {
        "db": Path(folder) / "o.duckdb",
        "region": str(region_dir),
        "simulator": False,
        "users_file": Path(folder) / "u.toml",
        "secret_key": "s",
        "auth": False,
    }
    return Runtime(load_settings(**(defaults | settings)))
