"""Parser for the regex subset that both Python's `re` and DuckDB's RE2 read alike (see `regex`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_REPEAT = 1000

Ranges = tuple[tuple[int, int], ...]
_DIGIT: Ranges = ((48, 57),)
_WORD: Ranges = ((48, 57), (65, 90), (95, 95), (97, 122))
_SPACE: Ranges = ((9, 13), (32, 32))
_SHORTHANDS = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_SIMPLE_ESCAPES = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11}


class PatternError(ValueError):
    """A regex the engine refuses; the message says why and what to write instead."""


@dataclass(frozen=True)
class Lit:
    cp: int


@dataclass(frozen=True)
class Cls:
    ranges: Ranges
    negated: bool = False


@dataclass(frozen=True)
class Assert:
    kind: str  # start, end, word, nonword


@dataclass(frozen=True)
class Group:
    body: Alt


@dataclass(frozen=True)
class Repeat:
    body: Node
    min: int
    max: int | None
    lazy: bool = False


@dataclass(frozen=True)
class Alt:
    branches: tuple[tuple[Node, ...], ...] = field(default_factory=tuple)


Node = Lit | Cls | Assert | Group | Repeat


class _Parser:
    """Recursive-descent parser for the accepted subset."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def fail(self, message: str) -> PatternError:
        return PatternError(f"regex {self.s!r}: {message} (at position {self.i + 1})")

    def peek(self) -> str | None:
        return self.s[self.i] if self.i < len(self.s) else None

    def parse(self) -> Alt:
        tree = self.alt()
        if self.i < len(self.s):
            raise self.fail("unbalanced ')'; write \\) for a literal parenthesis")
        return tree

    def alt(self) -> Alt:
        branches = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.seq())
        return Alt(tuple(branches))

    def seq(self) -> tuple[Node, ...]:
        items: list[Node] = []
        while (ch := self.peek()) is not None and ch not in "|)":
            if ch in "*+?" or (ch == "{" and self.quantifier_ahead()):
                raise self.fail("a quantifier needs something to repeat before it")
            atom = self.atom()
            items.append(self.quantified(atom))
        return tuple(items)

    def quantifier_ahead(self) -> bool:
        return re.match(r"\{[0-9]*,?[0-9]*\}", self.s[self.i:]) is not None

    def quantified(self, atom: Node) -> Node:
        ch = self.peek()
        if ch is None:
            return atom
        if ch in "*+?":
            self.i += 1
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{" and self.quantifier_ahead():
            lo, hi = self.braces()
        else:
            return atom
        if isinstance(atom, Assert):
            raise self.fail("an anchor or \\b cannot be repeated")
        lazy = self.peek() == "?"
        if lazy:
            self.i += 1
        nxt = self.peek()
        if nxt is not None and (nxt in "*+?" or (nxt == "{" and self.quantifier_ahead())):
            raise self.fail("two quantifiers in a row (possessive or nested repeats) are not supported")
        return Repeat(atom, lo, hi, lazy)

    def braces(self) -> tuple[int, int | None]:
        m = re.match(r"\{([0-9]*)(,?)([0-9]*)\}", self.s[self.i:])
        assert m is not None
        low, comma, high = m.groups()
        if not low:
            raise self.fail("write {0,m} instead of {,m}")
        lo = int(low)
        hi: int | None = lo if not comma else (int(high) if high else None)
        if (hi if hi is not None else lo) > MAX_REPEAT:
            raise self.fail(f"repeat counts are limited to {MAX_REPEAT}")
        if hi is not None and hi < lo:
            raise self.fail(f"{{{lo},{hi}}} has its bounds the wrong way round")
        self.i += m.end()
        return lo, hi

    def atom(self) -> Node:
        ch = self.s[self.i]
        self.i += 1
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.charclass()
        if ch == ".":
            return Cls(((10, 10),), negated=True)
        if ch == "^":
            return Assert("start")
        if ch == "$":
            return Assert("end")
        if ch == "\\":
            return self.escape()
        if ch == "{":
            raise self.fail("write \\{ for a literal brace")
        return _lit(ch, self)

    def group(self) -> Node:
        rest = self.s[self.i:]
        if rest.startswith("?:"):
            self.i += 2
        elif m := re.match(r"\?P?<([A-Za-z_][A-Za-z0-9_]*)>", rest):
            self.i += m.end()
        elif rest.startswith(("?=", "?!", "?<=", "?<!")):
            raise self.fail("lookahead and lookbehind are not supported")
        elif rest.startswith("?"):
            raise self.fail("inline flags, atomic groups and other (?...) forms are not supported; "
                            "use the case-sensitive option for case")
        body = self.alt()
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.i += 1
        return Group(body)

    def escape(self) -> Node:
        ch = self.peek()
        if ch is None:
            raise self.fail("the pattern ends with a lone backslash")
        self.i += 1
        if ch.lower() in _SHORTHANDS:
            return Cls(_SHORTHANDS[ch.lower()], negated=ch.isupper())
        if ch in "bB":
            return Assert("word" if ch == "b" else "nonword")
        if ch == "A":
            return Assert("start")
        if ch in "zZ":
            return Assert("end")
        return Lit(self.char_escape(ch))

    def char_escape(self, ch: str) -> int:
        if ch in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[ch]
        if ch == "x":
            m = re.match(r"\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2})", self.s[self.i:])
            if not m:
                raise self.fail("write \\xHH or \\x{HHHH}")
            self.i += m.end()
            cp = int(m.group(1) or m.group(2), 16)
            if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp < 0xE000:
                raise self.fail("\\x escape is not a usable character")
            return cp
        if ch.isdigit():
            raise self.fail("backreferences like \\1 are not supported")
        if ch.isascii() and not ch.isalnum() and ch != "\x00":
            return ord(ch)
        raise self.fail(f"unknown escape \\{ch}; supported: \\d \\w \\s \\D \\W \\S \\b \\B \\n \\t "
                        "\\r \\f \\v \\xHH and backslash before punctuation")

    def charclass(self) -> Cls:
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges: list[tuple[int, int]] = []
        while True:
            ch = self.peek()
            if ch is None:
                raise self.fail("missing ']'")
            if ch == "]":
                self.i += 1
                break
            if self.s.startswith("[:", self.i):
                raise self.fail("POSIX classes like [:alpha:] are not supported; write the ranges")
            lo = self.class_item()
            if isinstance(lo, tuple):
                ranges.extend(lo)
                continue
            if self.peek() == "-" and self.i + 1 < len(self.s) and self.s[self.i + 1] != "]":
                self.i += 1
                hi = self.class_item()
                if isinstance(hi, tuple):
                    raise self.fail("a range cannot end with \\d, \\w or \\s")
                if hi < lo:
                    raise self.fail(f"range {chr(lo)}-{chr(hi)} is out of order")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        if not ranges:
            raise self.fail("empty character class []")
        return Cls(_normalise(ranges), negated)

    def class_item(self) -> int | Ranges:
        ch = self.s[self.i]
        self.i += 1
        if ch != "\\":
            return _lit(ch, self).cp
        esc = self.peek()
        if esc is None:
            raise self.fail("the pattern ends with a lone backslash")
        self.i += 1
        if esc in _SHORTHANDS:
            return _SHORTHANDS[esc]
        if esc in "DWS":
            raise self.fail(f"\\{esc} inside [] is not supported; use [^...]")
        if esc == "b":
            raise self.fail("\\b inside [] is not supported")
        return self.char_escape(esc)


def _lit(ch: str, parser: _Parser) -> Lit:
    cp = ord(ch)
    if cp == 0 or 0xD800 <= cp < 0xE000:
        raise parser.fail("the pattern holds a NUL or unpaired surrogate character")
    return Lit(cp)


def _normalise(ranges: list[tuple[int, int]]) -> Ranges:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)
