"""Settings: defaults < config file < environment < explicit overrides; clear errors."""

from __future__ import annotations

import pytest

from data.settings import SettingsError, load_settings


def test_defaults(monkeypatch):
    for k in (
        "ONEGRID_DB",
        "ONEGRID_PORT",
        "ONEGRID_REGION",
        "ONEGRID_SIMULATOR",
        "ONEGRID_CONFIG",
    ):
        monkeypatch.delenv(k, raising=False)
    s = load_settings()
    assert (s.port, s.region, s.simulator, s.language) == (8050, "anshan", True, "zh")
    assert s.db.name == "onegrid.duckdb" and s.db.parent.name == "var"


def test_file_then_env_then_overrides(tmp_path, monkeypatch):
    cfg = tmp_path / "onegrid.toml"
    cfg.write_text(
        'port = 9000\nregion = "nyc"\ningest_token = "file"\n[feed_tokens]\npolice = "p-token"\n'
    )
    monkeypatch.setenv("ONEGRID_REGION", "anshan")
    monkeypatch.setenv("ONEGRID_SIMULATOR", "off")
    s = load_settings(cfg)
    assert (s.port, s.region, s.simulator) == (9000, "anshan", False)
    assert s.token_ok("police", "p-token") and s.token_ok("traffic", "file")
    assert not s.token_ok("traffic", "p-token") and not s.token_ok("police", None)
    assert load_settings(cfg, port=9100).port == 9100


def test_errors_name_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("ONEGRID_PORT", "eighty")
    with pytest.raises(SettingsError, match="ONEGRID_PORT"):
        load_settings()
    monkeypatch.delenv("ONEGRID_PORT")
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("port = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="prot"):
        load_settings(unknown)
