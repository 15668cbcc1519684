"""Drafting a mapping from a sample (/feeds/new, data/feeds/mapping_draft.py): the sample read,
the value table, the dry run, the atomic audited save, and the saved file passing check-mapping."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from data.feeds import mapping_draft as drafts
from layouts.feeds_new_page import UPLOAD_MAX_BYTES
from layouts.i18n import t
from tests.support.draft_sample import CHOICES, sample_csv
from tests.support.server import ROOT


def upload(text: str, kind: str = "text/csv") -> str:
    return f"data:{kind};base64," + base64.b64encode(text.encode()).decode()


def test_the_browser_and_the_server_limit_agree():
    assert UPLOAD_MAX_BYTES == drafts.MAX_SAMPLE_BYTES


def test_sample_view_columns_and_first_rows():
    view = drafts.sample_view(upload(sample_csv()), "district calls.csv")
    assert view["columns"] == ["Ref", "Reported", "X", "Y", "Kind", "Level", "Note"]
    assert view["rows"] == 10 and len(view["first_rows"]) == 10
    assert view["first_rows"][7]["X"] == ""  # missing stays visible as empty
    assert view["name"] == "district_calls"


@pytest.mark.parametrize(
    ("contents", "filename", "says"),
    [
        (upload("a,b\n1,2\n"), "x.xlsx", "upload a"),
        ("data:text/csv,plain", "x.csv", "base64"),
        ("data:text/csv;base64,!!!", "x.csv", "base64"),
        ("data:text/csv;base64," + base64.b64encode(b"a\n\xff\n").decode(), "x.csv", "UTF-8"),
        (upload("a,b\n"), "x.csv", "no records"),
        (upload("x" * (drafts.MAX_SAMPLE_BYTES + 10)), "x.csv", "larger than"),
        (None, "x.csv", "upload one"),
    ],
)
def test_bad_samples_get_a_clear_reason(contents, filename, says):
    with pytest.raises(drafts.DraftError, match=says) as err:
        drafts.sample_view(contents, filename)
    shown_in_both_languages(err.value)


def shown_in_both_languages(exc: drafts.DraftError) -> None:
    """The page shows the problem from the translation tables, in zh and en, with its values."""
    for lang in ("zh", "en"):
        key = f"feednew.err.{exc.key}"
        text = t(key, lang)
        assert text != key, f"{key} missing in {lang}"
        text.format(**exc.params)  # every placeholder has its value


def test_category_values_with_counts_commonest_first():
    values, codes = drafts.category_choices(upload(sample_csv()), "s.csv", "Kind", "police")
    assert values[0] == {"value": "Theft", "count": 6}
    assert {"value": "Parade", "count": 1} in values
    assert "criminal" in codes and "dispute" in codes


def test_preview_is_the_check_mapping_dry_run(runtime):
    recon, text = drafts.preview_draft(
        upload(sample_csv()), "s.csv", CHOICES, region=runtime.region, db=runtime.db
    )
    assert recon["rows_read"] == 10
    assert recon["accepted"] == 6 and recon["duplicates"] == 1 and recon["outside_region"] == 1
    assert recon["quarantined_by_reason"] == {"missing coordinates": 1, "unmapped category": 1}
    assert recon["adds_up"]
    assert recon["examples"]["unmapped category"][0]["fields"]["Kind"] == "Parade"
    assert 'column = "Ref"' in text and "Theft = " in text


def test_preview_counts_duplicates_against_the_store(runtime):
    # the six good rows ingested already: the same sample previews as six duplicates
    from data.feeds.mapping import apply_mapping
    from data.feeds.mapping.readers import json_records_frame

    sample = drafts.upload_sample(upload(sample_csv()), "s.csv")
    mapping = drafts.check(drafts.draft(CHOICES, "csv"))
    rows = sample.frame.to_dict("records")
    frame = apply_mapping(mapping, json_records_frame(rows, [""] * len(rows), [None] * len(rows)))
    runtime.pipeline.ingest_frame("police", frame)
    recon, _ = drafts.preview_draft(
        upload(sample_csv()), "s.csv", CHOICES, region=runtime.region, db=runtime.db
    )
    assert recon["accepted"] == 0 and recon["duplicates"] == 7


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"name": "../../etc/x"}, "name must be"),
        ({"source": "weather"}, "source"),
        ({"lat": None}, "latitude"),
        ({"category_map": {"Theft": "arson"}}, "not categories of police"),
        ({"time_format": "no directives"}, "time"),
        ({"id": None}, "id column"),
        ({"time": ""}, "time column"),
        ({"category": None}, "category column"),
    ],
)
def test_bad_drafts_are_refused_with_a_reason(runtime, change, says):
    with pytest.raises((drafts.DraftError, drafts.MappingError), match=says) as err:
        drafts.preview_draft(
            upload(sample_csv()), "s.csv", CHOICES | change, region=runtime.region, db=runtime.db
        )
    if isinstance(err.value, drafts.DraftError):
        shown_in_both_languages(err.value)


def test_save_is_atomic_audited_and_passes_check_mapping(runtime, tmp_path, tiny_region_dir):
    folder = tmp_path / "mappings"
    runtime.settings.mappings_dir = folder
    contents = upload(sample_csv())
    path = drafts.save_draft(
        contents, "s.csv", CHOICES, settings=runtime.settings, db=runtime.db, actor="root"
    )
    assert path == folder / "district_calls.toml"
    assert [p.name for p in folder.iterdir()] == ["district_calls.toml"]  # no temporary left
    row = runtime.db.query_one(
        "SELECT actor, object_type, object_id, detail FROM audit_log WHERE action = 'mapping.save'"
    )
    assert row[:3] == ("root", "mapping", "district_calls")
    assert json.loads(row[3])["source"] == "police"
    with pytest.raises(drafts.DraftError, match="exists already") as err:
        drafts.save_draft(
            contents, "s.csv", CHOICES, settings=runtime.settings, db=runtime.db, actor="root"
        )
    shown_in_both_languages(err.value)
    data = tmp_path / "sample.csv"
    data.write_text(sample_csv(), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "app.py", "check-mapping", "--mapping", str(path), "--file", str(data)]
        + ["--region", str(tiny_region_dir), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"ONEGRID_DB": str(tmp_path / "none.duckdb"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout[out.stdout.index("{") :])
    assert (result["rows_read"], result["accepted"], result["adds_up"]) == (10, 6, True)
