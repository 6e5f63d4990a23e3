"""Typed SQL values: how a column or constant prints and tests true, exactly as in Python."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.templates.sql_facts import PLAIN_TEXT, TWO_DECIMALS, text_facts

TEXT, INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, NULL, MIXED = (
    "text", "integer", "decimal", "boolean", "date", "datetime", "null", "mixed")

SCHEMA_KINDS = {"text": TEXT, "url": TEXT, "email": TEXT, "integer": INTEGER, "decimal": DECIMAL,
                "boolean": BOOLEAN, "date": DATE, "datetime": DATETIME}
"""Schema kind → value kind (url and email hold text)."""

NO_CONST: Any = object()
EXACT_FLOAT_INT = 2 ** 53
"""Below this, every integer is exactly a double (and every double at or above it is whole)."""


class Unsupported(Exception):
    """This part of the template has no exact SQL form; the template renders per row instead."""

    line: int | None = None


@dataclass(frozen=True)
class Val:
    """A compiled expression: its kind, its typed SQL (may be NULL unless not nullable) or constant.

    MIXED values (e.g. `price or "Ask us"`) have no single SQL type: only `text_sql` (what
    prints) and `truth_sql` (Python truthiness) are known. `len_sql`, when set, is a cheaper
    BIGINT equal to the number of characters `text` prints (see `text_length`).
    """

    kind: str
    sql: str = ""
    nullable: bool = True
    const: Any = NO_CONST
    text_sql: str = ""
    truth_sql: str = ""
    len_sql: str = ""
    facts: frozenset[str] = frozenset()

    @property
    def is_const(self) -> bool:
        return self.const is not NO_CONST


def quote_ident(name: str) -> str:
    """A DuckDB identifier: double-quoted, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    """A DuckDB string literal; NUL and unencodable text have none, so they fall back."""
    if "\x00" in value:
        raise Unsupported("the text holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Unsupported("the text holds characters that are not valid Unicode") from exc
    return "'" + value.replace("'", "''") + "'"


def kind_of(value: Any) -> str:
    """The value kind of a Python constant."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return DECIMAL
    if isinstance(value, str):
        return TEXT
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    raise Unsupported(f"a {type(value).__name__} value")


def literal(value: Any) -> str:
    """The typed SQL literal of a constant."""
    kind = kind_of(value)
    if kind == NULL:
        return "NULL"
    if kind == BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == INTEGER:
        if not -(2 ** 63) <= value < 2 ** 63:
            raise Unsupported("an integer beyond 64 bits")
        return f"CAST({value} AS BIGINT)"
    if kind == DECIMAL:
        return f"CAST('{value!r}' AS DOUBLE)"
    if kind == TEXT:
        return sql_str(value)
    raise Unsupported(f"a {kind} constant")


def constant(value: Any) -> Val:
    """A compile-time constant (its typed SQL is left empty when it has no literal, e.g. 2**70)."""
    kind = kind_of(value)
    try:
        sql = literal(value)
    except Unsupported:
        sql = ""
    return Val(kind, sql, nullable=value is None, const=value, facts=text_facts([py_text(value)]))


def typed_sql(v: Val) -> str:
    """The typed SQL of a value; a constant without a literal cannot be used this way."""
    return literal(v.const) if v.is_const else v.sql


def column(name: str, kind: str, facts: frozenset[str] = frozenset()) -> Val:
    """A column of the data set (`facts`: what is known of its text in the rows the SQL will see)."""
    return Val(kind, quote_ident(name), facts=facts if kind == TEXT else PLAIN_TEXT | (facts & {TWO_DECIMALS}))


def text_val(sql: str, len_sql: str = "", facts: frozenset[str] = frozenset()) -> Val:
    """A non-null VARCHAR (and, optionally, a cheaper SQL for its length in characters)."""
    return Val(TEXT, sql, nullable=False, len_sql=len_sql, facts=facts)


def bool_val(sql: str) -> Val:
    """A non-null BOOLEAN."""
    return Val(BOOLEAN, sql, nullable=False, facts=PLAIN_TEXT)


def py_text(value: Any) -> str:
    """What `{{ value }}` prints for a constant."""
    return "" if value is None else str(value)


def float_text_sql(x: str, two_decimals: bool = False) -> str:
    """VARCHAR of Python's repr() for a DOUBLE x (NULL stays NULL).

    DuckDB prints doubles as Python's repr does (shortest round trip, same exponent style:
    1e+16, 1e-05, 100.0), except a NaN with its sign bit set prints "-nan". That printing is
    slow, and values with at most two decimals (prices, ratings) print faster as DECIMAL:
    when x converts to DECIMAL(18,2) and back unchanged and |x| < 1e13, that decimal has at
    most 15 significant digits, so it is the only decimal that short naming x and repr prints
    it (trailing zero dropped: a whole number of tenths prints with one decimal, exactly
    converted). Zero takes the slow path (-0.0 must print "-0.0"). `two_decimals`: every value
    is known to take the fast path (see `number_facts`).
    """
    slow = f"(CASE WHEN isnan({x}) THEN 'nan' ELSE CAST({x} AS VARCHAR) END)"
    if len(x) > 80:  # x is repeated below: only for columns and short expressions
        return slow
    d2 = f"TRY_CAST({x} AS DECIMAL(18,2))"
    d1 = f"CAST({d2} AS DECIMAL(18,1))"
    fast = f"(CASE WHEN {d1} = {d2} THEN CAST({d1} AS VARCHAR) ELSE CAST({d2} AS VARCHAR) END)"
    if two_decimals:
        return fast
    exact = f"(CAST({d2} AS DOUBLE) = {x} AND {x} <> 0 AND abs({x}) < CAST(1e13 AS DOUBLE))"
    return f"(CASE WHEN {exact} THEN {fast} ELSE {slow} END)"


class OrEmpty(str):
    """`COALESCE(inner, '')`, remembering `inner`: concat() skips NULLs, so it can use `inner` as is."""

    inner: str

    @classmethod
    def of(cls, inner: str) -> OrEmpty:
        out = cls(f"COALESCE({inner}, '')")
        out.inner = inner
        return out


class Concat(str):
    """`concat(parts…)`, remembering its parts so an enclosing concat() splices them in."""

    parts: tuple[str, ...]


def text(v: Val) -> str:
    """VARCHAR, never NULL, byte-identical to what `{{ v }}` prints per row."""
    if v.is_const:
        return sql_str(py_text(v.const))
    x = v.sql
    if v.kind == MIXED:
        return v.text_sql
    if v.kind == TEXT:
        return OrEmpty.of(x) if v.nullable else x
    if v.kind == INTEGER:
        return OrEmpty.of(f"CAST({x} AS VARCHAR)")
    if v.kind == DECIMAL:
        return OrEmpty.of(float_text_sql(x, TWO_DECIMALS in v.facts))
    if v.kind == BOOLEAN:
        return f"(CASE {x} WHEN TRUE THEN 'True' WHEN FALSE THEN 'False' ELSE '' END)"
    if v.kind == DATE:
        return OrEmpty.of(f"CAST({x} AS VARCHAR)")
    if v.kind == DATETIME:
        # str(datetime) adds ".ffffff" only when there are microseconds
        return OrEmpty.of(f"CASE WHEN epoch_us({x}) % 1000000 = 0 THEN strftime({x}, '%Y-%m-%d %H:%M:%S') "
                          f"ELSE strftime({x}, '%Y-%m-%d %H:%M:%S.%f') END")
    if v.kind == NULL:
        return "''"
    raise Unsupported(f"printing a {v.kind} value")


def text_length(v: Val) -> str:
    """BIGINT, never NULL: len() of what `{{ v }}` prints, in code points (what `length` counts)."""
    if v.is_const:
        return str(len(py_text(v.const)))
    if v.len_sql:
        return v.len_sql
    if v.kind == TEXT:
        return f"COALESCE(length({v.sql}), 0)" if v.nullable else f"length({v.sql})"
    printed = text(v)
    if isinstance(printed, OrEmpty):
        return f"COALESCE(length({printed.inner}), 0)"
    return f"length({printed})"


def sum_sql(parts: Iterable[str]) -> str:
    """BIGINT sum of BIGINT pieces (constants added up)."""
    fixed, terms = 0, []
    for p in parts:
        if p.isdigit():
            fixed += int(p)
        else:
            terms.append(p)
    if fixed or not terms:
        terms.append(str(fixed))
    return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"


def truth(v: Val) -> str:
    """BOOLEAN, never NULL: Python truthiness ('' None 0 0.0 False are false; NaN is true)."""
    if v.is_const:
        return "TRUE" if v.const else "FALSE"
    x = v.sql
    if v.kind == MIXED:
        return v.truth_sql
    if v.kind == TEXT:
        return f"({x} <> '')" if not v.nullable else f"COALESCE({x} <> '', FALSE)"
    if v.kind in (INTEGER, DECIMAL):
        return f"COALESCE({x} <> 0, FALSE)"
    if v.kind == BOOLEAN:
        return x if not v.nullable else f"COALESCE({x}, FALSE)"
    if v.kind in (DATE, DATETIME):
        return f"({x} IS NOT NULL)"
    if v.kind == NULL:
        return "FALSE"
    raise Unsupported(f"testing a {v.kind} value")


def holds(v: Val) -> str:
    """`truth(v)` for a CASE WHEN, where NULL counts as false: the same rows, less SQL per row."""
    if v.is_const or v.kind == MIXED:
        return truth(v)
    if v.kind == TEXT:
        return f"({v.sql} <> '')"
    if v.kind in (INTEGER, DECIMAL):
        return f"({v.sql} <> 0)"
    if v.kind == BOOLEAN:
        return v.sql
    return truth(v)


def is_null(v: Val) -> str:
    """BOOLEAN: the value is None."""
    if v.is_const:
        return "TRUE" if v.const is None else "FALSE"
    if v.kind == MIXED:
        raise Unsupported("testing a mixed value for none")
    return f"({v.sql} IS NULL)" if v.nullable else "FALSE"


def choose(cond: str, a: Val, b: Val, *, a_holds: bool = False) -> Val:
    """`a if cond else b`: typed when both sides share a kind, else MIXED.

    `a_holds`: cond is `holds(a)`, so a is never NULL where it is chosen (`x or y`, `default`):
    the result is then NULL only when b is, and text() needs no COALESCE around it.
    """
    kind = a.kind if b.kind in (a.kind, NULL) else b.kind if a.kind == NULL else MIXED
    facts = a.facts & b.facts
    if kind not in (MIXED, NULL):  # one type (a null constant fits any)
        return Val(kind, f"(CASE WHEN {cond} THEN {typed_sql(a)} ELSE {typed_sql(b)} END)",
                   nullable=(a.nullable and not a_holds) or b.nullable, facts=facts)
    return Val(MIXED, text_sql=f"(CASE WHEN {cond} THEN {text(a)} ELSE {text(b)} END)",
               truth_sql=f"(CASE WHEN {cond} THEN {truth(a)} ELSE {truth(b)} END)", facts=facts)


_LITERAL = re.compile(r"'(?:[^']|'')*'")


def concat(parts: Iterable[str]) -> str:
    """Join non-null VARCHAR pieces (nested concats flattened: each level would copy the text again)."""
    pieces: list[str] = []
    for p in parts:
        for piece in p.parts if isinstance(p, Concat) else [p]:
            if piece == "''":
                continue
            if pieces and _LITERAL.fullmatch(piece) and _LITERAL.fullmatch(pieces[-1]):
                pieces[-1] = pieces[-1][:-1] + piece[1:]  # 'a', 'b' → 'ab'
            else:
                pieces.append(piece)
    if not pieces:
        return "''"
    if len(pieces) == 1:
        return pieces[0]
    out = Concat("concat(" + ", ".join(p.inner if isinstance(p, OrEmpty) else p for p in pieces) + ")")
    out.parts = tuple(pieces)
    return out


_COSTLY = re.compile(r"lambda|regexp|format\(|replace\(|strftime\(|upper\(|lower\(|trim\(|concat\(|substr\("
                     r"|left\(|\|\||AS VARCHAR|BIGNUM")
"""Functions that build new text (or run a regex): worth evaluating once."""
INLINE_MAX = 400
"""Longer expressions are bound even when cheap, so nested filters keep the SQL linear in size."""


class Binder:
    """Evaluates an expression once for a body that uses it several times (a one-item lambda).

    Cheap expressions (columns, COALESCE, CASE choosing among them) are repeated instead: the
    lambda costs more per row than re-reading them, DuckDB evaluates an expression that also
    appears where it always runs only once (common subexpressions), and a CASE branch runs only
    on its own rows.
    """

    def __init__(self, columns: Iterable[str]) -> None:
        taken = {c.lower() for c in columns}
        self.prefix = "_tpl"
        while any(c.startswith(self.prefix) for c in taken):
            self.prefix += "_"
        self.count = 0

    def fresh(self) -> str:
        """A lambda parameter name no column uses."""
        self.count += 1
        return f"{self.prefix}{self.count}"

    def bind(self, expr: str, body: Callable[[str], str]) -> str:
        """`body(expr)`, evaluating `expr` once when it is costly to repeat."""
        if len(expr) <= INLINE_MAX and not _COSTLY.search(expr):
            return body(expr)
        name = self.fresh()
        return f"list_transform([{expr}], lambda {name}: {body(name)})[1]"


def fixed_sql(x: str, decimals: int, binder: Binder) -> str:
    """VARCHAR of Python's format(x, ',.{decimals}f') for a DOUBLE x (NULL stays NULL).

    DuckDB's format() rounds exactly like Python below 2**53; at and above it every double is
    a whole number, printed exactly through BIGNUM; inf and nan are spelled as Python does.
    """
    zeros = "." + "0" * decimals if decimals else ""

    def body(v: str) -> str:
        digits = f"CAST(CAST(abs({v}) AS BIGNUM) AS VARCHAR)"
        grouped = f"reverse(rtrim(regexp_replace(reverse({digits}), '(\\d\\d\\d)', '\\1,', 'g'), ','))"
        return (f"(CASE WHEN isnan({v}) THEN 'nan' "
                f"WHEN abs({v}) < {EXACT_FLOAT_INT} THEN format('{{:,.{decimals}f}}', {v}) "
                f"WHEN isinf({v}) THEN (CASE WHEN {v} > 0 THEN 'inf' ELSE '-inf' END) "
                f"ELSE (CASE WHEN {v} < 0 THEN '-' ELSE '' END) || {grouped} || '{zeros}' END)")

    return binder.bind(x, body)


def as_double(v: Val) -> str:
    """The DOUBLE SQL of an integer or decimal value (Python's float(value))."""
    if v.kind == DECIMAL:
        return v.sql
    if v.kind == INTEGER:
        return f"CAST({v.sql} AS DOUBLE)"
    raise Unsupported(f"a {v.kind} value as a number")
