"""Field mappings: plug an outside feed into the canonical event frame without code.

The reference for people writing mappings is docs/MAPPING.md (every key with examples, the valid
sources and categories, the ``check-mapping`` dry run); this docstring is the summary for code.

One TOML file per outside format lives in ``data/mappings/<name>.toml``. It says how to read the
publisher's file and how each canonical column (docs/ARCHITECTURE.md) is derived from the
publisher's columns. ``map_file`` reads a file in chunks and yields canonical frames carrying
``_raw`` (the original record) and ``_reason`` (why a row cannot be an event, or None). Nothing is
dropped here: every input record comes out either as a valid row or with a ``_reason``; the
pipeline quarantines reasoned rows and de-duplicates ids (so repeated publisher keys stay visible).

Mapping file format
-------------------

Top level (all keys other than those marked optional are required)::

    name = "nyc_311_2019"            # optional, defaults to the file stem
    description = "free text"        # optional
    source = "hotline"               # police | traffic | environment | market | hotline
    format = "csv"                   # csv | jsonl | json | parquet
    encoding = "utf-8-sig"           # optional, default utf-8; utf-8-sig strips a BOM
    timezone = "America/New_York"    # optional, default UTC: zone of naive timestamps (IANA)
    na_values = ["", "NA"]           # optional, default [""]: tokens meaning "missing" (after strip)
    thousands = ","                  # optional: thousands separator removed before parsing numbers
    files = "PRSA_Data_*.csv"        # optional: glob used when the data path is a folder
    strict_columns = true            # optional: a referenced column absent from the data is an
                                     # error (default for csv / parquet, whose header is fixed);
                                     # false treats it as all-missing (default for json / jsonl,
                                     # whose publishers often omit null keys)

    [csv]                            # optional
    delimiter = ","
    quotechar = '"'

    [json]                           # optional, for format = "json"
    records_path = "data.rows"       # dotted key path to the list of records; default: the top
                                     # level is the list

Reshaping and joins (optional)::

    [melt]                           # wide rows -> one reading per listed column: N rows give
                                     # N x len(columns) rows, row-major (row 1's readings first)
    columns = { "PM2.5" = "pm25", "PM10" = "pm10" }   # their column -> our code
    var_name = "pollutant"           # new column holding the code (usable in every rule below)
    value_name = "reading"           # new column holding the cell (usable in every rule below)

    [lookups.stations]               # a lookup table joined on a key, e.g. station coordinates
    key = "station"                  # key column in the lookup file
    on = "station"                   # column in the data
    columns = ["lon", "lat"]         # added to the data as "stations.lon", "stations.lat"
    file = "../coords.csv"           # optional default path, relative to the data file's folder;
                                     # the run-time argument lookups={"stations": path} wins
    # Keys match exactly after stripping; a repeated key in the lookup file is an error. A data
    # row whose key has no lookup entry gets the reason "no stations lookup entry for ...".

Field rules. A "column" is a publisher column (or a melt / lookup column). Every value is
stripped, and ``na_values`` tokens count as missing. A "template" is a Python format string over
columns, e.g. ``"{station}-{year}-{pollutant}"`` (no format specs); a template whose columns are
all missing gives a missing value::

    [id]            column = "Unique Key"            | template = "{camis}-{inspection_date}"
    [time]          column = "Created Date", format = "%m/%d/%Y %I:%M:%S %p"
                      # or format = "iso" (default): an explicit offset (Z, +08:00) is honoured,
                      # a naive value is local time in the mapping's zone
                    | date = "OCCUR_DATE", time = "OCCUR_TIME",
                      date_format = "%m/%d/%Y", time_format = "%H:%M:%S"  # time column optional
                    | parts = { year = "year", month = "month", day = "day", hour = "hour" }
                      # (minute, second optional)
                    placeholders = ["1900-01-01"]    # optional: dates that mean "no date"
                    timezone = "..."                 # optional, overrides the top-level zone
    [location]      lon = "Longitude", lat = "Latitude"
                    zero_is_missing = true           # default: (0, 0) is a missing location
    [category]      value = "accident"               # a constant
                    | column = "Complaint Type"
                      map = { "HEATING" = "heating", "Noise*" = "noise" }  # * ? globs allowed;
                          # exact keys win over globs, globs are tried in file order
                      default = "other"      # code for unmapped values (else: a reason)
                      missing = "inspection" # code when the column is missing (else: default,
                                             # else a reason)
                      ignore_case = true     # default
                      map_file = "vocabularies/x.toml"  # optional: a [map] table shared by
                          # several mappings (relative to the mapping file); own keys win
    [severity]      (optional; 1..5) value = 3
                    | column = "LAW_CAT_CD", map = { FELONY = 4 }, default = 2
                    | column = "level", clip = true  # numeric column, rounded, clipped to 1..5
                    | default = 2 and [[severity.rules]] entries, the highest matching value wins:
                      { column = "NUMBER OF PERSONS KILLED", min = 1, value = 5 }
                      { column = "critical_flag", in = ["Critical"], value = 4 }
                      (min / max are numeric bounds, inclusive; in is a list of values, globs
                      allowed, compared like category.map keys)
    [value]         (optional) column = "reading", scale = 1.0, required = true
                    # required: a missing value gets the reason "missing value (<token>)", e.g.
                    # "missing value (NA)", or "missing value (empty)"; a non-number always gets
                    # "unparseable value '...'"
    [text]          (optional) column = "..." | template = "..." | join = ["a", "b"], sep = ": "
                    # join skips missing parts
    [attributes]    (optional; kept as a JSON object, keys always present, null when missing)
                    borough = "Borough"                       # a column, as text
                    closed = { column = "Closed Date", type = "time",
                               format = "%m/%d/%Y %I:%M:%S %p" }  # -> ISO UTC "...Z"
                    injured = { column = "NUMBER OF PERSONS INJURED", type = "int" }
                    time_precision = { value = "day" }        # a constant
                    label = { template = "{a}/{b}" }
                    # type: str (default) | int | float | bool | time (format as for [time],
                    # naive values in the top-level timezone)

Reasons set here (first one wins, in this order): a reason from reading the record (bad JSON),
"missing id", "missing time", "unparseable time '...'", "placeholder date 1900-01-01",
"no <lookup> lookup entry for ...", "missing coordinates", "unparseable coordinates '...', '...'",
"coordinates (0, 0)", "missing category", "unmapped category '...'", "missing value (NA)",
"unparseable value '...'". ``data.events.validate_frame`` adds the generic checks downstream.
Ids are the publisher's keys and are not de-duplicated here.

``read_records`` keeps every cell as text exactly as read (``dtype=str``, no NA coercion);
``na_values``, stripping and number / time parsing happen in ``apply_mapping``.

Naive local times are localised in the mapping's zone: an ambiguous wall time (the repeated hour
when clocks go back) is read as the first (daylight-saving) occurrence, and a non-existent wall
time (the skipped hour) is shifted forward to the first valid instant. A date-only time is local
midnight. ``_raw`` for CSV is the record re-serialised as a CSV line (minimal quoting), for JSON /
parquet the record as JSON text; melted readings share their row's ``_raw``.
"""

from data.feeds.mapping.apply import apply_mapping, map_file
from data.feeds.mapping.readers import read_records
from data.feeds.mapping.spec import (
    MAPPINGS_DIR,
    Mapping,
    MappingError,
    list_mappings,
    load_mapping,
    parse_mapping,
)

__all__ = [
    "MAPPINGS_DIR",
    "Mapping",
    "MappingError",
    "apply_mapping",
    "list_mappings",
    "load_mapping",
    "map_file",
    "parse_mapping",
    "read_records",
]
