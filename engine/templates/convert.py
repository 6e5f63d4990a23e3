"""Dotoro's single-brace templates → ours, so teams can bring their templates along.

Dotoro syntax:
- `{name}` a column; `{Product Name}` works too (becomes `row["Product Name"]`);
- `{name|uppercase}` filters, applied left to right; `{name|truncate:50}` filter arguments
  after colons (`{price|currency:EUR}`, `{name|truncate:50:"…"}`);
- `{sale_price|regular_price}` a fallback: a part that is not a known filter name is
  another column to use when everything before it is empty; `{city|"your area"}` a
  quoted literal fallback. A part with arguments must be a known filter, else an error;
- `{{` and `}}` a literal `{` and `}`.
"""

from __future__ import annotations

import re

from engine.templates.errors import TemplateError
from engine.templates.validate import reference

DOTORO_FILTERS = {
    "uppercase": "upper", "upper": "upper", "lowercase": "lower", "lower": "lower",
    "capitalize": "capitalize", "titlecase": "title", "title": "title", "trim": "trim",
    "slug": "slug", "slugify": "slug", "truncate": "truncate", "default": "default",
    "currency": "currency", "number": "number", "percent": "percent", "date": "date",
    "replace": "replace",
}
"""Dotoro filter name → ours."""

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_BRACE_OPEN, _BRACE_CLOSE = "{{ '{' }}", "{{ '}' }}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split(text: str, sep: str, line: int, column: int) -> list[str]:
    """Split on `sep` outside double or single quotes."""
    parts, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == sep:
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


def _placeholder(inner: str, line: int, column: int) -> str:
    parts = [p.strip() for p in _split(inner, "|", line, column)]
    if not parts[0]:
        raise TemplateError("empty placeholder `{}`", line=line, column=column)
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
            expr, chained = f"{expr} or {reference(part)}", True
    return "{{ " + expr + " }}"


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
            end = source.find("}", i + 1)
            nested = source.find("{", i + 1)
            column = i - line_start + 1
            if end < 0:
                raise TemplateError("`{` is never closed (write `{{` for a literal brace)", line=line, column=column)
            if 0 <= nested < end:
                raise TemplateError("`{` inside a placeholder (write `{{` for a literal brace)",
                                    line=line, column=column)
            inner = source[i + 1:end]
            if "\n" in inner:
                raise TemplateError("a placeholder cannot span lines", line=line, column=column)
            out.append(_placeholder(inner, line, column))
            i = end + 1
            continue
        if ch == "}" and source.startswith("}}", i):
            out.append(_BRACE_CLOSE)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
