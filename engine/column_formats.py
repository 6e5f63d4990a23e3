"""Formatted numbers and month-name dates, typed at ingest (the rules ``engine.column_types`` applies last).

Numbers (every non-null value of the column must fit, in one format):

- currency  ``$1,299.00``, ``€5``, ``-$5``, ``1.299,00 €``, ``USD 12``, ``CHF 1'234.50`` → decimal, with
  the profile format ``currency:<ISO code>`` (``$`` reads as USD). One currency per column: mixed
  currencies stay text with a note; plain numbers beside amounts (``$5``, ``7``) are amounts too.
- percent   ``50%``, ``12.5 %`` → the fraction (0.5, 0.125) as decimal, profile format ``percent``.
- grouped   ``1,234`` / ``1,234,567`` / ``1 234`` → integer (decimal with a fraction), format ``grouped``.

The decimal mark is decided by the column as a whole: a value such as ``1,5``, ``1.234,50`` or
``1.234.567`` proves a decimal comma, ``1.5`` or ``1,234,567.50`` a decimal point (plain numbers
with a decimal comma and no currency or ``%`` also need a ``.`` group somewhere in a comma-delimited
file: ``1,5`` alone may be a pair of numbers and stays text). When no value
proves it, a comma is a thousands separator (``1,299`` → 1299, as Dotoro reads it); a lone dot
followed by three digits is a decimal point, except next to a currency symbol, where ``€1.299``
means 1299 (amounts rarely have three decimals); a semicolon-delimited file reads the comma as the
decimal mark. A column that proves both marks, or mixes ``1,299`` and ``1.299`` without proof,
stays text with a note.

Dates: ``Jan 15, 2024``, ``January 15 2024``, ``15 January 2024``, ``15-Jan-2024``, ``Sept 3rd, 2024``,
``Monday, January 15, 2024``
(any case; both orders may mix in one column) → date, profile format ``month_date``.

The original text can be kept beside the typed column (``IngestOptions.keep_text``): templates
print ``{{ price_text }}`` to show ``$1,299.00`` exactly as uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

_SYMBOLS = {"US$": "USD", "R$": "BRL", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
            "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₫": "VND", "₴": "UAH", "zł": "PLN"}
_CODES = ("USD", "EUR", "GBP", "JPY", "CNY", "INR", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK",
          "PLN", "CZK", "HUF", "BRL", "MXN", "ZAR", "KRW", "RUB", "TRY", "HKD", "SGD", "ILS", "AED")
_CURRENCY = "|".join([*(s.replace("$", r"\$") for s in _SYMBOLS), *_CODES])
_GROUP_CHARS = "\u00a0\u202f\u2009' "
# sign, currency, sign, the number, currency, percent (each optional but the number)
FORMATTED = (rf"^(?P<s1>[-+\u2212]?)\s*(?P<c1>{_CURRENCY})?\s*(?P<s2>[-+\u2212]?)\s*"
             rf"(?P<num>[0-9](?:[0-9.,{_GROUP_CHARS}]*[0-9])?|[.,][0-9]+)\s*(?P<c2>{_CURRENCY})?\s*(?P<pct>%)?$")
_POINT = r"^(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:_[0-9]{3})+|[0-9]+)?(?:\.[0-9]+)?$"
_COMMA = r"^(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:_[0-9]{3})+|[0-9]+)?(?:,[0-9]+)?$"

_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
    ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
    ("nov", "november"), ("dec", "december")), 1) for name in names}
_ORDINAL = "(?:st|nd|rd|th)?"
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}\.?,?\s+)?"
MONTH_FIRST = rf"(?i)^{_WEEKDAY}([a-z]{{3,9}})\.?[\s-]+([0-9]{{1,2}}){_ORDINAL},?[\s-]+([0-9]{{4}})$"
DAY_FIRST = rf"(?i)^{_WEEKDAY}([0-9]{{1,2}}){_ORDINAL}[\s-]+([a-z]{{3,9}})\.?,?[\s-]+([0-9]{{4}})$"


@dataclass(frozen=True)
class Typed:
    """A column typed from formatted text, or (``values`` None) text with a note saying why not."""

    kind: str
    values: pl.Series | None
    format: str | None = None
    note: str | None = None


def _text(note: str) -> Typed:
    return Typed("text", None, None, note)


def formatted_number(stripped: pl.Series, values: pl.Series, *, decimal_comma: bool) -> Typed | None:
    """Currency, percent or grouped numbers (module doc); None when the column is not such numbers."""
    if not (values.head(1000).str.contains(FORMATTED).all() and values.str.contains(FORMATTED).all()):
        return None
    parts = values.str.extract_groups(FORMATTED).struct.unnest()
    currency = pl.select(pl.coalesce(pl.lit(parts["c1"]), pl.lit(parts["c2"]))).to_series()
    has_currency, has_percent = currency.is_not_null(), parts["pct"].is_not_null()
    if ((parts["s1"] != "") & (parts["s2"] != "")).any() or (parts["c1"].is_not_null() & parts["c2"].is_not_null()).any():
        return None
    numbers = parts["num"].str.replace_all(f"[{_GROUP_CHARS}]", "_")
    grouped = numbers.str.contains("[,._]").any()
    if not (has_currency.any() or has_percent.any() or grouped):
        return None
    if has_currency.any() and has_percent.any():
        return _text("mixes amounts and percentages, so it is kept as text")
    if has_percent.any() and not has_percent.all():
        return _text("mixes percentages (%) and plain numbers, so it is kept as text")
    codes: list[str] = []
    if has_currency.any():
        codes = sorted({_SYMBOLS.get(c, c) for c in currency.drop_nulls().unique().to_list()})
        if len(codes) > 1:
            return _text(f"mixes currencies ({', '.join(codes)}), so it is kept as text")
    mark = _decimal_mark(numbers, currency=bool(codes), decimal_comma=decimal_comma)
    if mark == "":
        return None
    if mark is None:
        return _text("holds numbers whose decimal mark is unclear (both 1,234 and 1.234 style, or both "
                     "marks as decimals), so it is kept as text")
    if mark == "," and not (codes or has_percent.any() or decimal_comma or numbers.str.contains(".", literal=True).any()):
        return None  # a lone `1,5` in a comma-delimited file may be a pair of numbers: text, unless `1.234,5` proves it
    group = "," if mark == "." else "."
    plain = numbers.str.replace_all(f"[_{'.' if group == '.' else ','}]", "").str.replace(",", ".", literal=True)
    negative = parts["s1"].str.contains("[-\u2212]") | parts["s2"].str.contains("[-\u2212]")
    sign = pl.select(pl.when(pl.lit(negative)).then(pl.lit("-")).otherwise(pl.lit(""))).to_series()
    signed = sign + plain
    fmt = f"currency:{codes[0]}" if codes else "percent" if has_percent.any() else "grouped"
    if has_percent.any():
        floats = (signed + "e-2").cast(pl.Float64, strict=False)
        kind = "decimal"
    elif not codes and not plain.str.contains(".", literal=True).any():
        ints = signed.cast(pl.Int64, strict=False)
        if ints.null_count():
            return None
        return Typed("integer", _spread(stripped, ints), fmt)
    else:
        floats, kind = signed.cast(pl.Float64, strict=False), "decimal"
    if floats.null_count() or floats.is_infinite().any():
        return None
    return Typed(kind, _spread(stripped, floats), fmt)


def _decimal_mark(numbers: pl.Series, *, currency: bool, decimal_comma: bool) -> str | None:
    """'.' or ',' as the column's decimal mark, None when the column contradicts itself, "" when these
    are not numbers (1.2.3)."""
    point = numbers.str.contains(_POINT).all()
    comma = numbers.str.contains(_COMMA).all()
    if point != comma:
        return "." if point else ","
    if not point:  # each value a number in one style or the other: mixed marks; else not numbers at all
        return None if (numbers.str.contains(_POINT) | numbers.str.contains(_COMMA)).all() else ""
    if decimal_comma:
        return ","
    has_comma, has_dot = numbers.str.contains(",", literal=True).any(), numbers.str.contains(".", literal=True).any()
    if has_comma and has_dot:
        return None
    return "," if has_dot and currency else "."


def _spread(stripped: pl.Series, present: pl.Series) -> pl.Series:
    """Values computed for the non-null cells, put back in place (nulls where the column is null)."""
    if not stripped.null_count():
        return present.alias(stripped.name)
    mask = stripped.is_not_null()
    full = pl.Series(stripped.name, [None] * len(stripped), dtype=present.dtype)
    return full.scatter(mask.arg_true(), present)


def month_date(stripped: pl.Series, values: pl.Series) -> Typed | None:
    """Dates written with a month name, in either order (module doc); None otherwise."""
    head = values.head(1000)
    if not (head.str.contains(MONTH_FIRST) | head.str.contains(DAY_FIRST)).all():
        return None
    first = values.str.extract_groups(MONTH_FIRST).struct.unnest()
    second = values.str.extract_groups(DAY_FIRST).struct.unnest()
    def either(a: pl.Series, b: pl.Series) -> pl.Series:
        return pl.select(pl.coalesce(pl.lit(a), pl.lit(b))).to_series()

    month = either(first["1"], second["2"]).str.to_lowercase()
    day = either(first["2"], second["1"])
    year = either(first["3"], second["3"])
    if year.null_count():
        return None
    number = month.replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
    if number.null_count():
        return None
    iso = year + "-" + number.cast(pl.String).str.zfill(2) + "-" + day.str.zfill(2)
    dates = iso.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if dates.null_count():
        return _text("looks like dates with month names, but some of them do not exist (such as Feb 30), "
                     "so it is kept as text")
    return Typed("date", _spread(stripped, dates), "month_date")
