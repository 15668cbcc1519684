"""Cut the committed samples in tests/samples/ from the full real files (../shared/realdata).

    python tests/samples/cut.py ../shared/realdata

Each NYC sample is the file's header and its first 150 ordinary records, plus the first 20
records of each kind a mapper must reason about (empty coordinates, (0, 0), a placeholder date), copied
byte for byte (BOM, quoting and line ends kept). Each Beijing sample is the first 120 hourly
rows of two station files plus up to 20 rows with an NA pollutant. Records are chosen with the
csv module and the mapping's column names only, never with the mapper under test.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from data.feeds.mapping import load_mapping  # noqa: E402
from tests.support.realdata import NYC_NAMES, SAMPLES  # noqa: E402

FIRST = 150
EACH = 20


def _records(raw: bytes) -> tuple[bytes, list[tuple[list[str], bytes]]]:
    """The header line and every record with its exact bytes (records may span lines)."""
    lines = raw.splitlines(keepends=True)
    text = io.StringIO("".join(x.decode("utf-8-sig") for x in lines), newline="")
    reader = csv.reader(text)
    out, start = [], 0
    header = None
    for row in reader:
        end = reader.line_num
        chunk = b"".join(lines[start:end])
        start = end
        if header is None:
            header = chunk
            continue
        out.append((row, chunk))
    return header, out


def _number(v: str) -> float | None:
    try:
        return float(v.replace(",", ""))
    except ValueError:
        return None


def cut_nyc(name: str, src: Path, dst: Path) -> int:
    spec = load_mapping(name).spec
    header, records = _records(src.read_bytes())
    cols = next(csv.reader(io.StringIO(header.decode("utf-8-sig"))))
    lon, lat = cols.index(spec.location.lon), cols.index(spec.location.lat)
    date_col = spec.time.column or spec.time.date
    date = cols.index(date_col) if date_col else None
    kinds = {
        "empty coordinates": lambda r: not r[lon].strip() or not r[lat].strip(),
        "zero coordinates": lambda r: _number(r[lon]) == 0 and _number(r[lat]) == 0,
        "placeholder date": lambda r: (
            date is not None and any(r[date].startswith(p) for p in spec.time.placeholders)
        ),
    }
    special = [i for i, (row, _) in enumerate(records) if any(t(row) for t in kinds.values())]
    ordinary = sorted(set(range(len(records))) - set(special))
    keep = set(ordinary[:FIRST])
    for test in kinds.values():
        hits = [i for i, (row, _) in enumerate(records) if i not in keep and test(row)]
        keep.update(hits[:EACH])
    dst.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(records[i][1] for i in sorted(keep))
    dst.write_bytes(header + body)
    return len(keep)


def cut_beijing(src: Path, dst: Path) -> int:
    header, records = _records(src.read_bytes())
    cols = next(csv.reader(io.StringIO(header.decode("utf-8-sig"))))
    pollutants = [cols.index(c) for c in ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")]
    keep = set(range(120))
    na = [
        i
        for i, (row, _) in enumerate(records)
        if i not in keep and any(row[j] == "NA" for j in pollutants)
    ]
    keep.update(na[:EACH])
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(header + b"".join(records[i][1] for i in sorted(keep)))
    return len(keep)


def main(realdata: Path) -> None:
    for name, file in NYC_NAMES.items():
        n = cut_nyc(name, realdata / "nyc" / file, SAMPLES / "nyc" / file)
        print(f"{name}: {n} records")
    for station in ("Dongsi", "Wanliu"):
        file = f"PRSA_Data_{station}_20130301-20170228.csv"
        src = realdata / "beijing" / "prsa_air_quality" / file
        n = cut_beijing(src, SAMPLES / "beijing" / "prsa_air_quality" / file)
        print(f"beijing {station}: {n} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
