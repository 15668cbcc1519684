"""docs/MAPPING.md cannot drift from the code: it lists exactly the catalogue's sources and
categories, and documents every key the mapping schema accepts."""

from __future__ import annotations

import re
from pathlib import Path

from data.catalogue import CATEGORIES, SOURCES
from data.feeds.mapping import spec
from data.feeds.mapping.spec import catalogue_markdown

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "MAPPING.md").read_text(encoding="utf-8")


def test_the_doc_lists_exactly_the_catalogues_categories():
    block = DOC.split("<!-- catalogue:start -->\n", 1)[1].split("\n<!-- catalogue:end -->", 1)[0]
    assert block == catalogue_markdown(), "regenerate with spec.catalogue_markdown()"
    listed = {}
    for line in block.splitlines()[2:]:
        source, codes = (cell.strip() for cell in line.strip("|").split("|"))
        listed[source.strip("`")] = tuple(re.findall(r"`([^`]+)`", codes))
    assert tuple(listed) == SOURCES
    assert listed == dict(CATEGORIES)


def _keys(model, seen=None) -> set[str]:
    """Every TOML key a pydantic model accepts, nested models included (aliases as in TOML)."""
    seen = seen if seen is not None else set()
    out: set[str] = set()
    for name, f in model.model_fields.items():
        out.add(f.alias or name)
        for sub in (
            spec.CsvOptions,
            spec.JsonOptions,
            spec.LookupSpec,
            spec.MeltSpec,
            spec.IdRule,
            spec.TimeRule,
            spec.LocationRule,
            spec.CategoryRule,
            spec.SeverityRule,
            spec.SeverityCondition,
            spec.ValueRule,
            spec.TextRule,
            spec.AttributeRule,
        ):
            if sub not in seen and sub.__name__ in str(f.annotation):
                seen.add(sub)
                out |= _keys(sub, seen)
    return out


def test_the_doc_documents_every_key_of_the_schema():
    keys = _keys(spec.MappingSpec) | {"map_file"}  # map_file is read before validation
    assert {"lookups", "in", "clip", "records_path", "zero_is_missing"} <= keys
    # a key is documented when it names (part of) an inline code span: `key`, `[key]`,
    # `csv.key`, `[lookups.<name>]`
    spans = re.findall(r"`([^`\n]+)`", DOC)
    named = {tok for span in spans for tok in re.split(r"[\[\].\s=,]+", span) if tok}
    missing = sorted(k for k in keys if k not in named)
    assert not missing, f"docs/MAPPING.md does not document {missing}"


def test_readme_and_ingest_link_the_doc():
    for path in ("README.md", "docs/INGEST.md"):
        assert "MAPPING.md" in (ROOT / path).read_text(encoding="utf-8"), path
