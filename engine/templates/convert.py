"""Dotoro's single-brace templates → ours, so teams can bring their templates along.

Dotoro syntax:
- `{name}` a column; `{Product Name}` works too (becomes `row["Product Name"]`);
- `{name|uppercase}` filters, applied left to right; `{name|truncate:50}` filter arguments
  after colons (`{price|currency:EUR}`, `{name|truncate:50:"…"}`);
- `{sale_price|regular_price}` a fallback: a part that is not a known filter name is
  another column to use when everything before it is empty; `{city|"your area"}` a
  quoted literal fallback. A part with arguments must be a known filter, else an error;
- `{category.{lang}}` a dynamic key: the inner placeholder is rendered first and the composed
  text names the column (`category.en`), as Dotoro looks it up as a flat key. It becomes
  `(row[K] if K in row)` with `K = "category." ~ lang`: a key naming no column prints ''
  (as in Dotoro), and the field renders per row. Inner placeholders nest up to 5 levels and
  may carry filters and fallbacks of their own (`{title_{lang|lowercase}}`);
- `{product.details.color}` a dotted column from flattened JSON (`product.details.color`);
- `{{` and `}}` a literal `{` and `}`.
"""

from __future__ import annotations

import re

from engine.templates.errors import TemplateError
from engine.templates.validate import ROW, reference

DOTORO_FILTERS = {
    "uppercase": "upper", "upper": "upper", "lowercase": "lower", "lower": "lower",
    "capitalize": "capitalize", "titlecase": "title", "title": "title", "trim": "trim",
    "slug": "slug", "slugify": "slug", "truncate": "truncate", "default": "default",
    "currency": "currency", "number": "number", "percent": "percent", "date": "date",
    "replace": "replace",
}
"""Dotoro filter name → ours."""

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
MAX_KEY_NESTING = 5
"""Dynamic keys (`{a.{b}}`) nest at most this deep, as in Dotoro."""
_BRACE_OPEN, _BRACE_CLOSE = "{{ '{' }}", "{{ '}' }}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split(text: str, sep: str, line: int, column: int) -> list[str]:
    """Split on `sep` outside double or single quotes and outside inner `{…}`."""
    parts, buf, quote, depth = [], [], "", 0
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "{}":
            depth += 1 if ch == "{" else -1
            buf.append(ch)
        elif ch in "\"'" and not depth:
            quote = ch
            buf.append(ch)
        elif ch == sep and not depth:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quote:
        raise TemplateError("unclosed quote in a placeholder", line=line, column=column)
    parts.append("".join(buf))
    return parts


def _is_quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"


def _literal(text: str) -> str:
    """A Dotoro argument or literal → a Jinja literal (numbers stay numbers)."""
    text = text.strip()
    if _is_quoted(text):
        return _quote(text[1:-1])
    if _NUMBER.fullmatch(text):
        return text
    return _quote(text)


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
    composed = " ~ ".join(pieces)
    return f"({ROW}[{composed}] if ({composed}) in {ROW})"


def _placeholder(inner: str, line: int, column: int) -> str:
    return "{{ " + _expression(inner, line, column) + " }}"


def _expression(inner: str, line: int, column: int) -> str:
    parts = [p.strip() for p in _split(inner, "|", line, column)]
    if not parts[0]:
        raise TemplateError("empty placeholder `{}`", line=line, column=column)
    if "{" in parts[0] or "}" in parts[0]:
        expr = _dynamic(parts[0], line, column)
    else:
        expr = _literal(parts[0]) if _is_quoted(parts[0]) else reference(parts[0])
    chained = False
    for part in parts[1:]:
        if not part:
            raise TemplateError(f"empty part in `{{{inner}}}`", line=line, column=column)
        name, *args = [a.strip() for a in _split(part, ":", line, column)]
        if _is_quoted(part):
            expr, chained = f"{expr} or {_literal(part)}", True
        elif name in DOTORO_FILTERS:
            call = DOTORO_FILTERS[name] + (f"({', '.join(_literal(a) for a in args)})" if args else "")
            expr, chained = f"{f'({expr})' if chained else expr} | {call}", False
        elif args:
            known = ", ".join(sorted(DOTORO_FILTERS))
            raise TemplateError(f"unknown filter `{name}` in `{{{inner}}}` (known filters: {known})",
                                line=line, column=column)
        else:
            expr, chained = f"{expr} or {_dynamic(part, line, column) if '{' in part else reference(part)}", True
    return expr


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
