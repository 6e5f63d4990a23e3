"""Column type inference: a raw column becomes a typed polars column and one of eight kinds.

Rules (a column gets a kind only if *every* non-null value fits; blanks are ignored):

- integer  ``-12``, ``+7``, ``0`` → Int64. Leading zeros (``00123``, zip codes) and values beyond
  64 bits stay text. Thousands separators (``1,234``) → 1234 unless the column proves a decimal
  comma; currency, percent and grouped numbers follow ``engine.column_formats``.
- decimal  ``3.5``, ``.5``, ``1e-3`` → Float64. ``1,234.50`` style is accepted only when the
  column shows both marks (some value has a ``,`` group and some value has a ``.`` decimal)
  and every comma sits in a group of three; the European ``1.234,50`` stays text.
  In a semicolon-delimited file a single comma is the decimal mark instead (``1,5`` → 1.5).
- boolean  true/false, yes/no, y/n (any case). A 0/1 column is an integer column.
- date     ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``DD.MM.YYYY``; ``DD/MM/YYYY`` vs ``MM/DD/YYYY`` (and
  the same with ``-``) only when the column proves the order (some day > 12); otherwise text.
- datetime ISO 8601 with a time (``T`` or space), optional fraction; with an offset or ``Z`` the
  column becomes UTC. Naive and offset values mixed in one column → text.
  Month-name dates (``Jan 15, 2024``, ``15 January 2024``) → date (``engine.column_formats``).
- url      ``http://`` or ``https://`` followed by a host; email ``name@host.tld``. Both stay String.
- text     everything else, unchanged.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from polars.exceptions import PanicException

from engine.column_formats import DAY_FIRST, FORMATTED, MONTH_FIRST, Typed, formatted_number, month_date
from engine.ingest_errors import IngestError

KINDS = ("integer", "decimal", "boolean", "date", "datetime", "url", "email", "text")
TRUE_WORDS = ("true", "yes", "y")
FALSE_WORDS = ("false", "no", "n")

# Checked on the first values before the whole column, so a text column fails fast.
_SAMPLE = 1000
_EXAMPLES = 3
_EXAMPLE_CHARS = 100

# Patterns spell digits [0-9]: the regex engine's \d also matches other scripts' digits.
_INTEGER = r"^[+-]?[0-9]+$"
_LEADING_ZERO = r"^[+-]?0[0-9]"
_DECIMAL = r"^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_COMMA_DECIMAL = r"^[+-]?(0|[1-9][0-9]*)(,[0-9]+)?$"
_GROUPED = r"^[+-]?([0-9]{1,3}(,[0-9]{3})+|0|[1-9][0-9]*)(\.[0-9]+)?$"
_DATE_FORMATS = (
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", ("%Y-%m-%d",)),
    (r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$", ("%Y/%m/%d",)),
    (r"^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}$", ("%d.%m.%Y",)),
    (r"^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$", ("%d/%m/%Y", "%m/%d/%Y")),
    (r"^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$", ("%d-%m-%Y", "%m-%d-%Y")),
)
_ISO_DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_DATETIME = _ISO_DATETIME + "$"
_DATETIME_TZ = _ISO_DATETIME + r" ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_URL = r"(?i)^https?://[^\s/?#]+([/?#]\S*)?$"
_EMAIL = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
_SHAPES = (_INTEGER, _DECIMAL, _GROUPED, _DATETIME, _DATETIME_TZ, _URL, _EMAIL,
           *(pattern for pattern, _ in _DATE_FORMATS), FORMATTED)


@dataclass(frozen=True)
class Inferred:
    """A typed column, its kind and an optional note for the user."""

    kind: str
    values: pl.Series
    warning: str | None = None
    format: str | None = None  # how the text was written: currency:<code>, percent, grouped, month_date


def infer_column(series: pl.Series, *, decimal_comma: bool = False,
                 midnight_means_date: bool = False) -> Inferred:
    """Type one column: String columns are parsed, native (Parquet) columns are mapped."""
    if series.dtype == pl.String:
        inferred = _infer_strings(series, decimal_comma=decimal_comma)
    else:
        inferred = _map_native(series)
    if midnight_means_date and inferred.kind == "datetime":
        times = inferred.values.drop_nulls()
        if (times.dt.truncate("1d") == times).all():
            return Inferred("date", inferred.values.dt.date())
    return inferred


def blank_to_null(column: str) -> pl.Expr:
    """Expression turning empty and whitespace-only cells into null."""
    col = pl.col(column)
    return pl.when(col.str.contains(r"^\s*$")).then(None).otherwise(col).alias(column)


def examples(values: pl.Series, kind: str) -> tuple[str, ...]:
    """Up to three distinct non-null values of a typed column, as display strings."""
    present = values.drop_nulls()
    found = present.head(10_000).unique(maintain_order=True).head(_EXAMPLES)
    if len(found) < _EXAMPLES and len(present) > 10_000:
        found = present.unique(maintain_order=True).head(_EXAMPLES)
    if kind == "datetime":
        tz = found.dtype.time_zone if isinstance(found.dtype, pl.Datetime) else None
        shown = found.dt.to_string("%Y-%m-%d %H:%M:%S" + (" %Z" if tz else ""))
    else:
        shown = found.cast(pl.String)
    return tuple(_shorten(text) for text in shown.to_list())


def _shorten(text: str) -> str:
    """Cut a long example to a readable length."""
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


def _all_match(values: pl.Series, pattern: str) -> bool:
    """Whether every value matches, trying a sample first so text columns fail fast."""
    return bool(values.head(_SAMPLE).str.contains(pattern).all() and values.str.contains(pattern).all())


def _plausible(sample: pl.Series, *, decimal_comma: bool) -> bool | str:
    """Whether the first values could belong to any kind other than text; a note (str) when each of
    them has some typed shape but not all the same one (e.g. dates written two ways)."""
    covered = sample.str.to_lowercase().is_in(TRUE_WORDS + FALSE_WORDS)
    if covered.all():
        return True
    shapes = (*_SHAPES, _COMMA_DECIMAL) if decimal_comma else _SHAPES
    for pattern in (*shapes, MONTH_FIRST, DAY_FIRST):
        matched = sample.str.contains(pattern)
        if matched.all():
            return True
        covered = covered | matched
    if (sample.str.contains(MONTH_FIRST) | sample.str.contains(DAY_FIRST)).all():
        return True
    if not covered.all():
        return False
    return f"mixes value formats (such as '{_shorten(sample[0])}' and '{_shorten(_other_shape(sample))}'), " \
        "so it is kept as text"


def _other_shape(sample: pl.Series) -> str:
    """The first value that is not written the way the first one is."""
    for pattern in (*_SHAPES, MONTH_FIRST, DAY_FIRST):
        matched = sample.str.contains(pattern)
        if matched[0] and not matched.all():
            return str(sample.filter(~matched)[0])
    return str(sample[-1])


def _parsed_dates(stripped: pl.Series, fmt: str) -> pl.Series | None:
    """Parse dates with one format; None unless every non-null value parses."""
    result = stripped.str.strptime(pl.Date, fmt, strict=False)
    return result if result.null_count() == stripped.null_count() else None


def _infer_strings(series: pl.Series, *, decimal_comma: bool = False) -> Inferred:
    """Infer the kind of a String column whose blanks are already null."""
    sample = series.drop_nulls().head(_SAMPLE).str.strip_chars()
    if sample.is_empty():
        return Inferred("text", series)
    plausible = _plausible(sample, decimal_comma=decimal_comma)
    if plausible is not True:  # Most text columns stop here, without a full scan.
        return Inferred("text", series, plausible or None)
    stripped = series.str.strip_chars()
    values = stripped.drop_nulls()
    detectors: list[Callable[[pl.Series, pl.Series], Inferred | None]] = [_as_integer, _as_decimal]
    if decimal_comma:
        detectors.append(_as_decimal_comma)
    for detect in (*detectors, _as_boolean, _as_date, _as_datetime):
        found = detect(stripped, values)
        if found is not None:
            return found
    for typed in (formatted_number(stripped, values, decimal_comma=decimal_comma), month_date(stripped, values)):
        if typed is not None:
            return _from_typed(typed, stripped)
    if _all_match(values, _URL):
        return Inferred("url", stripped)
    if _all_match(values, _EMAIL):
        return Inferred("email", stripped)
    return Inferred("text", series)


def _from_typed(typed: Typed, stripped: pl.Series) -> Inferred:
    if typed.values is None:
        return Inferred("text", stripped, typed.note)
    return Inferred(typed.kind, typed.values, typed.note, typed.format)


def _as_integer(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Int64, or text with a note for codes with leading zeros and numbers beyond 64 bits."""
    if not _all_match(values, _INTEGER):
        return None
    if values.str.contains(_LEADING_ZERO).any():
        note = "has values with leading zeros (codes such as zip codes), so it is kept as text"
        return Inferred("text", stripped, note)
    ints = stripped.cast(pl.Int64, strict=False)
    if ints.null_count() != stripped.null_count():
        return Inferred("text", stripped, "has whole numbers too large for 64 bits, so it is kept as text")
    return Inferred("integer", ints)


def _as_decimal(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Float64 from plain decimals, or from ``1,234.50`` when the column makes that unambiguous."""
    if _all_match(values, _DECIMAL):
        source, fmt = stripped, None
    elif (_all_match(values, _GROUPED) and values.str.contains(",", literal=True).any()
          and values.str.contains(".", literal=True).any()):
        source, fmt = stripped.str.replace_all(",", "", literal=True), "grouped"
    else:
        return None
    floats = source.cast(pl.Float64, strict=False)
    if floats.null_count() != stripped.null_count() or floats.is_infinite().any():
        return None
    return Inferred("decimal", floats, format=fmt)


def _as_decimal_comma(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Float64 from ``1,5`` in a semicolon-delimited file, where the comma is the decimal mark."""
    if not (_all_match(values, _COMMA_DECIMAL) and values.str.contains(",", literal=True).any()):
        return None
    floats = stripped.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    if floats.null_count() != stripped.null_count():
        return None
    return Inferred("decimal", floats)


def _as_boolean(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Boolean from true/false, yes/no, y/n in any case."""
    words = TRUE_WORDS + FALSE_WORDS
    if not (values.head(_SAMPLE).str.to_lowercase().is_in(words).all()
            and values.str.to_lowercase().is_in(words).all()):
        return None
    mapping = {word: word in TRUE_WORDS for word in words}
    lowered = stripped.str.to_lowercase()
    return Inferred("boolean", lowered.replace_strict(mapping, default=None, return_dtype=pl.Boolean))


def _as_date(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Date when one unambiguous format parses every value."""
    for pattern, formats in _DATE_FORMATS:
        if not _all_match(values, pattern):
            continue
        parses = [p for p in (_parsed_dates(stripped, fmt) for fmt in formats) if p is not None]
        if len(parses) == 1 or (len(parses) == 2 and parses[0].equals(parses[1])):
            return Inferred("date", parses[0])
        if len(parses) == 2:
            return Inferred("text", stripped, "looks like dates, but the day/month order is ambiguous "
                            "(no day above 12), so it is kept as text")
        return None
    return None


def _as_datetime(stripped: pl.Series, values: pl.Series) -> Inferred | None:
    """Datetime from ISO 8601 with a time; offsets convert the column to UTC."""
    if _all_match(values, _DATETIME):
        dtype, suffix, norm = pl.Datetime("us"), "", stripped
    elif _all_match(values, _DATETIME_TZ):
        dtype, suffix = pl.Datetime("us", "UTC"), "%#z"
        norm = stripped.str.replace(r" ?Z$", "+00:00").str.replace(r" ([+-][0-9])", "$1")
    else:
        return None
    norm = norm.str.replace(" ", "T", literal=True)
    parses = [norm.str.strptime(dtype, "%Y-%m-%dT%H:%M:%S%.f" + suffix, strict=False),
              norm.str.strptime(dtype, "%Y-%m-%dT%H:%M" + suffix, strict=False)]
    parsed = pl.select(pl.coalesce(pl.lit(parses[0]), pl.lit(parses[1]))).to_series()
    if parsed.null_count() != stripped.null_count():
        return None
    return Inferred("datetime", parsed.alias(stripped.name))


def _map_native(series: pl.Series) -> Inferred:
    """Map a typed (Parquet) column onto a kind, keeping every value exact or saying what changed."""
    dtype = series.dtype
    if dtype.is_integer():
        ints = series.cast(pl.Int64, strict=False)
        if ints.null_count() == series.null_count():
            return Inferred("integer", ints)
        return Inferred("text", series.cast(pl.String), "has whole numbers too large for 64 bits, "
                        "so it is kept as text")
    if isinstance(dtype, pl.Decimal):
        return _map_decimal(series, dtype)
    if dtype.is_float():
        return Inferred("decimal", series.cast(pl.Float64))
    if dtype == pl.Boolean:
        return Inferred("boolean", series)
    if dtype == pl.Date:
        _check_years(series, 1)
        return Inferred("date", series)
    if isinstance(dtype, pl.Datetime):
        _check_years(series, _PER_DAY[dtype.time_unit or "us"])
        return Inferred("datetime", series.cast(pl.Datetime("us", dtype.time_zone)))
    if isinstance(dtype, pl.Duration):
        return Inferred("decimal", _seconds(series), "holds durations, stored as a number of seconds")
    if dtype == pl.Binary:
        try:
            return Inferred("text", series.cast(pl.String))
        except pl.exceptions.PolarsError:  # not UTF-8: spell the bytes out rather than guess
            hexed = "0x" + series.bin.encode("hex")
            return Inferred("text", hexed, "holds binary values that are not text, shown as hexadecimal (0x…)")
    if dtype.is_nested():
        try:
            items = series.to_list()
        # Python cannot hold a nested date past 9999; polars says so with a Rust panic (a BaseException).
        except (pl.exceptions.PolarsError, PanicException, OverflowError, ValueError):
            raise IngestError(f"Column '{series.name}' holds lists or records with values Python cannot read, "
                              "such as dates outside the years 1 to 9999. Correct them and upload the file again.",
                              field=series.name) from None
        values = [None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)
                  for v in items]
        return Inferred("text", pl.Series(series.name, values, dtype=pl.String),
                        "holds lists or records, kept as JSON text")
    if dtype == pl.Null:
        return Inferred("text", series.cast(pl.String))
    try:
        return Inferred("text", series.cast(pl.String))
    except pl.exceptions.PolarsError:
        raise IngestError(f"Column '{series.name}' has a type ({dtype}) that cannot be stored: convert it to "
                          "text or numbers before uploading.", field=series.name) from None


def _seconds(durations: pl.Series) -> pl.Series:
    """Durations as seconds, parsed from exact decimal text (polars' division rounds 5 µs to 4.99…e-6)."""
    micros = durations.dt.total_microseconds()
    whole, part = micros.abs() // 1_000_000, (micros.abs() % 1_000_000).cast(pl.String).str.zfill(6)
    sign = pl.select(pl.when(pl.lit(micros) < 0).then(pl.lit("-")).otherwise(pl.lit(""))).to_series()
    return (sign + whole.cast(pl.String) + "." + part).cast(pl.Float64).alias(durations.name)


# Decimals with up to 15 significant digits survive a Float64 round trip exactly as written.
_FLOAT_DIGITS = 15


def _map_decimal(series: pl.Series, dtype: pl.Decimal) -> Inferred:
    """Whole decimals as integers, short ones as decimals, longer ones as their exact text."""
    scale = dtype.scale or 0
    present = series.drop_nulls()
    largest = max((abs(value) for value in present.to_list()), default=decimal.Decimal(0))
    unscaled = int(largest.scaleb(scale))
    if scale == 0 and unscaled < 2**63:
        return Inferred("integer", series.cast(pl.Int64))
    if scale == 0:
        return Inferred("text", series.cast(pl.String), "has whole numbers too large for 64 bits, "
                        "so it is kept as text")
    if unscaled < 10**_FLOAT_DIGITS:
        return Inferred("decimal", series.cast(pl.Float64))
    return Inferred("text", series.cast(pl.String),
                    f"has numbers with more than {_FLOAT_DIGITS} digits, kept as text so that they stay exact")


# Python's datetime (and polars' text conversion) stop at the years 1 and 9999.
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896
_PER_DAY = {"ns": 86_400_000_000_000, "us": 86_400_000_000, "ms": 86_400_000}


def _check_years(series: pl.Series, per_day: int) -> None:
    """Refuse dates before the year 1 or after 9999 (a database's 'infinity'), naming the column.

    ``per_day`` is how many of the column's physical units make a day (1 for dates).
    """
    physical = series.to_physical().drop_nulls()
    if physical.is_empty():
        return
    low, high = physical.min(), physical.max()
    assert isinstance(low, int) and isinstance(high, int)
    if low < _FIRST_DAY * per_day or high >= (_LAST_DAY + 1) * per_day:
        raise IngestError(f"Column '{series.name}' holds dates outside the years 1 to 9999 (such as 'infinity'). "
                          "Remove or correct those values and upload the file again.", field=series.name)
