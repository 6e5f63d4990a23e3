"""Safe regular expressions that Python's `re` and DuckDB's RE2 evaluate identically.

A user pattern is parsed (`regex_syntax`) and written out twice, once per engine, so
both give it the same meaning:

- accepted: literals, `.`, classes `[a-z0-9_]` / `[^...]`, `\\d \\w \\s` and their
  negations (ASCII only, as in RE2), groups `( )` / `(?: )` / named groups (for grouping
  only), `|`, quantifiers `* + ? {n} {n,} {n,m}` (counts up to 1000) and their lazy
  forms, anchors `^` / `$` (start / end of the whole text), `\\b` / `\\B` (ASCII word
  boundary), backslash before punctuation, `\\n \\t \\r \\f \\v`, `\\xHH` / `\\x{H...}`;
- refused with a message: backreferences, lookaround, inline flags, atomic groups,
  possessive quantifiers, Unicode classes, patterns over 300 characters, and patterns
  that can backtrack catastrophically in Python: a variable-length repeat inside another
  repeat (`(a+)+`, `(.*)*`), alternatives that can start alike inside a repeat
  (`(a|a)*`, `(a|ab)+`), and unbounded repeats side by side that can match the same
  characters (`x.*.*`, `\\d+\\d*`, `x.*\\d+`; a heuristic). A search pattern's leading or
  trailing unanchored `.*` is dropped first (it cannot change whether text matches);
- the per-row path runs the RE2 spelling with RE2 itself (google-re2, the engine DuckDB
  embeds), so both paths share RE2's semantics and its time linear in the text: a rule
  trace of `[a-z]*x` on a 40,000-letter cell takes microseconds, not Python's quadratic 20 s;
- `.` never matches a newline; `$` matches only at the very end (Python's own `$` would
  also match before a final newline);
- case-insensitive matching follows RE2's simple case folding. The `python` spelling (for
  Python's `re`, kept for tools and tests) swaps `İ ı ΐ ΰ ﬆ`, which Python folds together
  with other letters, for private noncharacters (U+FDD0–U+FDD4); match with `_TRANSLATE`d text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2 as re2_engine

from engine.rules.regex_syntax import (
    Alt,
    Assert,
    Cls,
    Group,
    Lit,
    Node,
    PatternError,
    Ranges,
    Repeat,
    _Parser,
)
from engine.rules.values import sql_str

__all__ = ["MAX_PATTERN_LENGTH", "PatternError", "SafePattern", "compile_pattern"]

MAX_PATTERN_LENGTH = 300
MAX_PROGRAM_SIZE = 2000
_PLACEHOLDERS = {0x130: 0xFDD0, 0x131: 0xFDD1, 0x1FD3: 0xFDD2, 0x1FE3: 0xFDD3, 0xFB06: 0xFDD4}
_TRANSLATE = {k: chr(v) for k, v in _PLACEHOLDERS.items()}


@dataclass(frozen=True)
class SafePattern:
    """A checked pattern with its Python and RE2 spellings."""

    source: str
    case_sensitive: bool
    python: str
    re2: str
    nullable: bool
    _compiled: Any = field(repr=False, compare=False)  # an RE2 pattern (google-re2): linear in the text

    def search(self, text: str) -> bool:
        """True when the pattern occurs anywhere in `text` (RE2, as DuckDB runs it: time linear in the text)."""
        return self._compiled.search(text) is not None

    def replace(self, text: str, replacement: str) -> str:
        """Every match replaced by `replacement`, taken literally (no group references)."""
        if not self.case_sensitive:
            raise ValueError("replace needs a case-sensitive pattern")
        return str(self._compiled.sub(lambda _m: replacement, text))

    def sql_search(self, text_expr: str) -> str:
        """SQL for `search` over a VARCHAR expression that is never NULL."""
        options = "" if self.case_sensitive else ", 'i'"
        return f"regexp_matches({text_expr}, {sql_str(self.re2)}{options})"

    def sql_replace(self, text_expr: str, replacement_expr: str) -> str:
        """SQL for `replace`; the replacement is escaped so RE2 takes it literally."""
        literal = f"replace({replacement_expr}, '\\', '\\\\')"
        return f"regexp_replace({text_expr}, {sql_str(self.re2)}, {literal}, 'g')"


def compile_pattern(source: str, *, case_sensitive: bool = False, for_replace: bool = False) -> SafePattern:
    """Parse, check and translate `source`; raises PatternError with what to change.

    For searching (the default), a leading or trailing unanchored `.*` is dropped: it
    cannot change whether a pattern occurs, only make Python's search quadratic. A
    pattern for replacing must not match empty text (the engines differ there).
    """
    if not isinstance(source, str) or not source:
        raise PatternError("the regex is empty; write a pattern such as ^SALE")
    if len(source) > MAX_PATTERN_LENGTH:
        raise PatternError(f"regex is {len(source)} characters long; the limit is {MAX_PATTERN_LENGTH}")
    tree = _Parser(source).parse()
    if not for_replace:
        tree = Alt(tuple(_trim_dot_star(branch) for branch in tree.branches))
    _check(tree, source, not case_sensitive)
    nullable = _nullable(tree)
    if nullable and for_replace:
        raise PatternError(f"regex {source!r} can match empty text; make it match at least one character")
    python = _emit(tree, "py", not case_sensitive)
    re2 = _emit(tree, "re2", not case_sensitive)
    options = re2_engine.Options()
    options.case_sensitive = case_sensitive  # DuckDB's 'i' option; every other option left as DuckDB leaves it
    options.log_errors = False
    try:
        compiled = re2_engine.compile(re2, options)
    except re2_engine.error as exc:  # pragma: no cover - the parser only lets through what RE2 accepts
        raise PatternError(f"regex {source!r} cannot be used: {exc}") from None
    return SafePattern(source, case_sensitive, python, re2, nullable, compiled)


# --- analysis ------------------------------------------------------------------------

def _is_dot_star(node: Node) -> bool:
    return (isinstance(node, Repeat) and node.min == 0 and node.max is None
            and node.body == Cls(((10, 10),), negated=True))


def _trim_dot_star(branch: tuple[Node, ...]) -> tuple[Node, ...]:
    items = list(branch)
    while items and _is_dot_star(items[0]):
        items.pop(0)
    while items and _is_dot_star(items[-1]):
        items.pop()
    return tuple(items)

CharSet = tuple[Ranges, bool]  # (ranges, negated)
_ANY: CharSet = ((), True)


def _nullable(node: Node | Alt) -> bool:
    if isinstance(node, Alt):
        return any(all(_nullable(item) for item in branch) for branch in node.branches)
    if isinstance(node, (Lit, Cls)):
        return False
    if isinstance(node, Assert):
        return True
    if isinstance(node, Group):
        return _nullable(node.body)
    return node.min == 0 or _nullable(node.body)


def _children(node: Node | Alt) -> list[Node]:
    if isinstance(node, Alt):
        return [item for branch in node.branches for item in branch]
    if isinstance(node, Group):
        return _children(node.body)
    if isinstance(node, Repeat):
        return [node.body]
    return []


def _walk(node: Node | Alt) -> list[Node | Alt]:
    out: list[Node | Alt] = [node]
    if isinstance(node, Group):
        out += _walk(node.body)
    elif isinstance(node, Alt):
        for child in _children(node):
            out += _walk(child)
    elif isinstance(node, Repeat):
        out += _walk(node.body)
    return out


def _has_variable_repeat(node: Node | Alt) -> bool:
    return any(isinstance(n, Repeat) and n.min != n.max for n in _walk(node))


def _charset(node: Node, ci: bool) -> CharSet:
    if isinstance(node, Lit):
        points = {node.cp}
        if ci:
            ch = chr(node.cp)
            points |= {ord(c) for c in (ch.lower(), ch.upper()) if len(c) == 1}
        return tuple((p, p) for p in sorted(points)), False
    assert isinstance(node, Cls)
    if ci and not node.negated:
        extra = [(max(lo, a) + d, min(hi, b) + d) for lo, hi in node.ranges
                 for a, b, d in ((65, 90, 32), (97, 122, -32)) if max(lo, a) <= min(hi, b)]
        return tuple(sorted(node.ranges + tuple(extra))), False
    return node.ranges, node.negated


def _chars(node: Node | Alt, ci: bool) -> list[CharSet]:
    if isinstance(node, (Lit, Cls)):
        return [_charset(node, ci)]
    return [cs for child in _children(node) for cs in _chars(child, ci)]


def _first(items: tuple[Node, ...], ci: bool) -> list[CharSet]:
    out: list[CharSet] = []
    for item in items:
        if isinstance(item, (Lit, Cls)):
            out.append(_charset(item, ci))
        elif isinstance(item, Group):
            out += [cs for branch in item.body.branches for cs in _first(branch, ci)]
        elif isinstance(item, Repeat):
            out += _first((item.body,), ci)
        if not _nullable(item):
            break
    return out


def _covers(ranges: Ranges, point: int) -> bool:
    return any(lo <= point <= hi for lo, hi in ranges)


def _overlap(a: CharSet, b: CharSet) -> bool:
    (ra, na), (rb, nb) = a, b
    if na and nb:
        return True
    if na or nb:
        pos, neg = (rb, ra) if na else (ra, rb)
        # the positive set overlaps the negated one unless every point is excluded
        return any(not all(_covers(neg, p) for p in range(lo, min(hi, lo + 4096) + 1)) for lo, hi in pos)
    return any(lo1 <= hi2 and lo2 <= hi1 for lo1, hi1 in ra for lo2, hi2 in rb)


def _any_overlap(xs: list[CharSet], ys: list[CharSet]) -> bool:
    return any(_overlap(x, y) for x in xs for y in ys)


def _flatten(items: tuple[Node, ...]) -> list[Node]:
    out: list[Node] = []
    for item in items:
        if isinstance(item, Group) and len(item.body.branches) == 1:
            out += _flatten(item.body.branches[0])
        else:
            out.append(item)
    return out


def _size(node: Node | Alt) -> int:
    if isinstance(node, Alt):
        return sum(_size(item) for branch in node.branches for item in branch) + len(node.branches)
    if isinstance(node, Group):
        return _size(node.body)
    if isinstance(node, Repeat):
        return _size(node.body) * max(node.max if node.max is not None else node.min + 1, 1)
    return 1


def _check(tree: Alt, source: str, ci: bool) -> None:
    def refuse(why: str) -> PatternError:
        return PatternError(f"regex {source!r} {why}; rewrite it without that construct")

    for node in _walk(tree):
        if isinstance(node, Repeat) and (node.max is None or node.max > 1):
            if _has_variable_repeat(node.body):
                raise refuse("repeats a group that itself holds a variable repeat, like (a+)+ or (.*)*, "
                             "which can take exponential time")
            for inner in _walk(node.body):
                if isinstance(inner, Alt) and len(inner.branches) > 1:
                    firsts = [_first(branch, ci) for branch in inner.branches]
                    if any(not branch or all(_nullable(i) for i in branch) for branch in inner.branches) or any(
                            _any_overlap(firsts[i], firsts[j])
                            for i in range(len(firsts)) for j in range(i + 1, len(firsts))):
                        raise refuse("repeats alternatives that can match the same text, like (a|a)* or "
                                     "(a|ab)+, which can take exponential time")
        if isinstance(node, Alt):
            for branch in node.branches:
                tracked: list[CharSet] = []
                for item in _flatten(branch):
                    if isinstance(item, Repeat) and item.max is None:
                        chars = _chars(item.body, ci)
                        if _any_overlap(tracked, chars):
                            raise refuse("has unbounded repeats side by side that can match the same "
                                         "characters, like .*.* or \\d+\\d*, which can be very slow")
                        tracked += chars
                    elif not _nullable(item):
                        tracked = []
    if _size(tree) > MAX_PROGRAM_SIZE:
        raise refuse(f"is too large once its repeats are expanded (limit {MAX_PROGRAM_SIZE} steps)")


# --- emission ------------------------------------------------------------------------

def _esc(cp: int, engine: str, ci: bool) -> str:
    if engine == "py" and ci and cp in _PLACEHOLDERS:
        cp = _PLACEHOLDERS[cp]
    ch = chr(cp)
    if (ch.isascii() and ch.isalnum()) or not ch.isascii():
        return ch
    return f"\\x{cp:02x}" if engine == "py" else f"\\x{{{cp:x}}}"


def _class_ranges(ranges: Ranges, engine: str, ci: bool) -> Ranges:
    if engine != "py" or not ci:
        return ranges
    out: list[tuple[int, int]] = []
    holes = sorted(set(_PLACEHOLDERS) | set(_PLACEHOLDERS.values()))
    for lo, hi in ranges:
        start = lo
        for hole in holes:
            if start <= hole <= hi:
                if start < hole:
                    out.append((start, hole - 1))
                start = hole + 1
        if start <= hi:
            out.append((start, hi))
    out += [(p, p) for s, p in _PLACEHOLDERS.items() if _covers(ranges, s)]
    return tuple(sorted(out))


def _emit(node: Node | Alt, engine: str, ci: bool) -> str:
    if isinstance(node, Alt):
        return "|".join("".join(_emit(item, engine, ci) for item in branch) for branch in node.branches)
    if isinstance(node, Lit):
        return _esc(node.cp, engine, ci)
    if isinstance(node, Cls):
        ranges = _class_ranges(node.ranges, engine, ci)
        body = "".join(_esc(lo, engine, False) if lo == hi else f"{_esc(lo, engine, False)}-{_esc(hi, engine, False)}"
                       for lo, hi in ranges)
        return f"[{'^' if node.negated else ''}{body}]"
    if isinstance(node, Assert):
        spellings = {"start": ("\\A", "\\A"), "end": ("\\Z", "\\z"),
                     "word": ("(?a:\\b)", "\\b"), "nonword": ("(?a:\\B)", "\\B")}
        return spellings[node.kind][0 if engine == "py" else 1]
    if isinstance(node, Group):
        return f"(?:{_emit(node.body, engine, ci)})"
    quant = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((node.min, node.max))
    if quant is None:
        quant = (f"{{{node.min}}}" if node.min == node.max
                 else f"{{{node.min},}}" if node.max is None else f"{{{node.min},{node.max}}}")
    return _emit(node.body, engine, ci) + quant + ("?" if node.lazy else "")
