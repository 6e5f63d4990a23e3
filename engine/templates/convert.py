"""Dotoro's single-brace templates → ours, so teams can bring their templates along.

Dotoro syntax (DOTORO_REFERENCE §1) and what it becomes:
- `{name}` a column; `{Product Name}` works too (becomes `row["Product Name"]`);
- `{name|uppercase|truncate:50}` filters, applied left to right, arguments after colons. Each `|` part
  with arguments, or named like a filter, is a filter; any other part names a **fallback** column used
  when the value is missing (null), and when there are several the last one wins, as in Dotoro:
  `{sale_price|regular_price|uppercase}` → `(sale_price if sale_price is not none else regular_price) | upper`.
  `{city|"your area"}` (a quoted part) is a literal fallback (ours; Dotoro has none);
- filter arguments (`ARITY`): unquoted text is taken as written, spaces included (`replace: :-` replaces
  a space), numbers where a filter counts (`truncate:50`); a quoted argument (`"…"` or `'…'`) may hold
  `:` and `|`. `format` and `default` take one text, so colons in it are kept (`format:HH:mm`).
  Arguments beyond what a filter takes are ignored, as in Dotoro. A missing `truncate` length or
  `format` pattern leaves the value unchanged (Dotoro's rule); a bad one (`truncate:-5`, `number:x`)
  is refused with its position (a documented difference: Dotoro ignores it);
- `{d|format:MMM D, YYYY}` dates: tokens `DATE_TOKENS` (dayjs-style; `[text]` is literal) map to our
  `date` filter's strftime pattern, so the compiled plan and the per-row render agree. Dotoro itself
  replaces only YYYY MM DD HH mm ss, each once; we replace every token (so `MMM` is "Jan", not "01M");
- `{name|replace:search}` with the replacement left out removes the search text; an empty search is
  refused (Dotoro would leave the value unchanged; our `replace` refuses it everywhere);
- `{category.{lang}}` a dynamic key: the inner placeholder is rendered first and the composed text
  names the column (`category.en`), looked up per row by the `lookup` filter: the exact name, else the
  name ingest gives such a header (`Category.EN` → `category.en`, `Product Name` → `product_name`),
  else a name equal but for letter case; a key naming no column prints ''. Inner placeholders nest up
  to 5 levels and may carry filters and fallbacks of their own (`{title_{lang|lowercase}}`);
- `{product.details.color}` a dotted column from flattened JSON (`product.details.color`);
- `{{` and `}}` a literal `{` and `}`; `[[a|b]]` inline variations pass through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from engine.templates.errors import TemplateError
from engine.templates.filters import as_text, check_decimals, check_length
from engine.templates.registry import FilterSpec, register_filter
from engine.templates.validate import ROW, reference

DOTORO_FILTERS = {
    "uppercase": "upper", "upper": "upper", "lowercase": "lower", "lower": "lower",
    "capitalize": "capitalize", "titlecase": "title", "title": "title", "trim": "trim",
    "slug": "slug", "slugify": "slug", "truncate": "truncate", "default": "default",
    "currency": "currency", "number": "number", "percent": "percent", "date": "date",
    "format": "date", "replace": "replace",
}
"""Dotoro filter name → ours."""

ARITY = {"truncate": 2, "currency": 1, "number": 1, "format": 1, "date": 1, "replace": 2, "default": 1}
"""Arguments each filter takes (others take none); extra arguments are ignored, as in Dotoro."""

_JOINED = ("format", "date", "default")
"""Filters whose one text argument keeps its colons (`format:HH:mm`)."""

DATE_TOKENS = {
    "YYYY": "%Y", "YY": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%-m", "DD": "%d", "D": "%-d",
    "dddd": "%A", "ddd": "%a", "HH": "%H", "H": "%-H", "hh": "%I", "h": "%-I", "mm": "%M", "m": "%-M",
    "ss": "%S", "s": "%-S", "A": "%p",
}
"""Dotoro `format` tokens (dayjs-style) → strftime directives of our `date` filter."""

_DATE_TOKEN = re.compile(r"\[([^\]]*)\]|" + "|".join(sorted(DATE_TOKENS, key=len, reverse=True)) + "|%")
_WHOLE = re.compile(r"\d+")
MAX_KEY_NESTING = 5
"""Dynamic keys (`{a.{b}}`) nest at most this deep, as in Dotoro."""
_BRACE_OPEN, _BRACE_CLOSE = "{{ '{' }}", "{{ '}' }}"


def date_pattern(dotoro: str) -> str:
    """A Dotoro/dayjs date pattern (`MMM D, YYYY`) as our `date` filter's (`%b %-d, %Y`)."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1).replace("%", "%%")
        token = match.group(0)
        return "%%" if token == "%" else DATE_TOKENS[token]
    return _DATE_TOKEN.sub(one, dotoro)


@lru_cache(maxsize=4096)
def _ingest_name(key: str) -> str:
    from engine.ingest import dotted_name  # ingest is heavier; only dynamic keys need it

    return dotted_name(key)


def lookup(row: Any, key: Any) -> Any:
    """`row | lookup(key)`: the value of the column `key` names (see the module doc), None when none does."""
    if not isinstance(row, Mapping):
        return None
    name = as_text(key)
    if name in row:
        return row[name]
    for candidate in (_ingest_name(name), _ingest_name(name.replace(".", "_"))):
        if candidate in row:
            return row[candidate]
    folded = name.casefold()
    for column in row:
        if isinstance(column, str) and column.casefold() == folded:
            return row[column]
    return None


register_filter(FilterSpec("lookup", lookup, None, "a dynamic key names its column per row"))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split(text: str, sep: str, line: int, column: int) -> list[str]:
    """Split on `sep` outside quoted arguments and outside inner `{…}`.

    A quote opens a quoted argument only where an argument starts (after `|` or `:` and spaces),
    so an apostrophe inside text (`replace:don't:do not`) is an ordinary character.
    """
    parts, buf, depth, i, starts = [], [], 0, 0, True
    while i < len(text):
        ch = text[i]
        if ch in "\"'" and starts and not depth:
            end = text.find(ch, i + 1)
            if end < 0:
                raise TemplateError("unclosed quote in a placeholder", line=line, column=column)
            buf.append(text[i:end + 1])
            i, starts = end + 1, False
            continue
        if ch in "{}":
            depth += 1 if ch == "{" else -1
        if ch == sep and not depth:
            parts.append("".join(buf))
            buf, starts = [], True
        else:
            buf.append(ch)
            starts = (starts and ch.isspace()) or ch in "|:"
        i += 1
    parts.append("".join(buf))
    return parts


def _is_quoted(text: str) -> bool:
    text = text.strip()
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"


def _text(arg: str) -> str:
    """An argument's text: a quoted one without its quotes, an unquoted one as written."""
    return arg.strip()[1:-1] if _is_quoted(arg) else arg


def _literal(text: str) -> str:
    """A Dotoro literal → a Jinja string literal."""
    return _quote(_text(text))


def _closing(text: str, start: int, line: int, column: int) -> int:
    """The index of the `}` closing the `{` at `start` (inner braces counted), on the same line."""
    depth = 0
    for index in range(start, len(text)):
        ch = text[index]
        if ch == "\n":
            raise TemplateError("a placeholder cannot span lines", line=line, column=column)
        if ch == "{":
            depth += 1
            if depth > MAX_KEY_NESTING + 1:
                raise TemplateError(f"placeholders nest more than {MAX_KEY_NESTING} levels deep", line=line,
                                    column=column)
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return index
    raise TemplateError("`{` is never closed (write `{{` for a literal brace)", line=line, column=column)


def _dynamic(key: str, line: int, column: int) -> str:
    """`category.{lang}` → a lookup of the column the composed text names ('' when there is none)."""
    pieces, i = [], 0
    while i < len(key):
        if key[i] == "{":
            end = _closing(key, i, line, column)
            pieces.append(f"({_expression(key[i + 1:end], line, column)})")
            i = end + 1
        elif key[i] == "}":
            raise TemplateError(f"unmatched `}}` in `{{{key}}}`", line=line, column=column)
        else:
            end = min((j for j in (key.find("{", i), key.find("}", i)) if j >= 0), default=len(key))
            pieces.append(_quote(key[i:end]))
            i = end
    return f"({ROW} | lookup({' ~ '.join(pieces)}))"


def _placeholder(inner: str, line: int, column: int) -> str:
    return "{{ " + _expression(inner, line, column) + " }}"


def _whole(arg: str, what: str, check: Any, inner: str, line: int, column: int) -> int:
    text = _text(arg).strip()
    if not _WHOLE.fullmatch(text):
        raise TemplateError(f"`{{{inner}}}`: {what} must be a whole number, not {text!r}", line=line,
                            column=column)
    try:
        return int(check(int(text)))
    except TemplateError as exc:
        raise TemplateError(f"`{{{inner}}}`: {exc.detail}", line=line, column=column) from None


def _filter(name: str, args: list[str], inner: str, line: int, column: int) -> str | None:
    """A Dotoro filter with its arguments as ours (`truncate(50, "…")`), None when it changes nothing."""
    ours = DOTORO_FILTERS[name]
    if name in _JOINED and len(args) > 1 and not any(_is_quoted(a) for a in args):
        args = [":".join(args)]
    args = args[:ARITY.get(name, 0)]
    given = [a for a in args if _text(a).strip()]
    if name == "truncate":
        if not given or not _text(args[0]).strip():
            return None  # Dotoro: no length, value unchanged
        n = _whole(args[0], "the truncate length", check_length, inner, line, column)
        return f"truncate({n}, {_literal(args[1])})" if len(args) > 1 else f"truncate({n})"
    if name == "number":
        if not given:
            return ours
        return f"number({_whole(args[0], 'the number of decimals', check_decimals, inner, line, column)})"
    if name == "currency":
        return f"currency({_quote(_text(args[0]).strip().upper())})" if given else ours
    if name == "replace":
        if not args or _text(args[0]) == "":
            raise TemplateError(f"`{{{inner}}}`: replace needs the text to search for (replace:old:new, or "
                                "replace:old to remove it)", line=line, column=column)
        return f"replace({_literal(args[0])}, {_literal(args[1]) if len(args) > 1 else _quote('')})"
    if name == "format":
        return f"date({_quote(date_pattern(_text(args[0])))})" if given else None
    if args:  # default, date
        return f"{ours}({', '.join(_literal(a) for a in args)})"
    return ours


def _operand(part: str, line: int, column: int) -> str:
    """A column, a dynamic key or (quoted) a literal."""
    if _is_quoted(part):
        return _literal(part)
    if "{" in part or "}" in part:
        return _dynamic(part, line, column)
    return reference(part)


def _expression(inner: str, line: int, column: int) -> str:
    parts = [p.strip() for p in _split(inner, "|", line, column)]
    if not parts[0]:
        raise TemplateError("empty placeholder `{}`", line=line, column=column)
    fallback: str | None = None  # a column: Dotoro's last one wins
    literal: str | None = None  # ours: used when the value and the fallback are missing
    calls: list[str] = []
    for part in parts[1:]:
        if not part:
            raise TemplateError(f"empty part in `{{{inner}}}`", line=line, column=column)
        name, *args = _split(part, ":", line, column)
        name = name.strip()
        if _is_quoted(part):
            literal = part
        elif name in DOTORO_FILTERS:
            call = _filter(name, args, inner, line, column)
            if call is not None:
                calls.append(call)
        elif args:
            known = ", ".join(sorted(DOTORO_FILTERS))
            raise TemplateError(f"unknown filter `{name}` in `{{{inner}}}` (known filters: {known})",
                                line=line, column=column)
        else:
            fallback = part  # Dotoro: the last fallback wins
    operands = [_operand(p, line, column) for p in (parts[0], fallback, literal) if p is not None]
    expr = operands[-1]
    for operand in reversed(operands[:-1]):
        expr = f"({operand} if {operand} is not none else {expr})"
    return " | ".join([expr, *calls])


def convert_dotoro(source: str) -> str:
    """Translate a Dotoro template into our Jinja syntax (raises TemplateError with the position)."""
    out: list[str] = []
    i, n, line, line_start = 0, len(source), 1, 0
    while i < n:
        ch = source[i]
        if ch == "\n":
            line, line_start = line + 1, i + 1
        if ch == "{":
            if source.startswith("{{", i):
                out.append(_BRACE_OPEN)
                i += 2
                continue
            column = i - line_start + 1
            end = _closing(source, i, line, column)
            out.append(_placeholder(source[i + 1:end], line, column))
            i = end + 1
            continue
        if ch == "}" and source.startswith("}}", i):
            out.append(_BRACE_CLOSE)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
