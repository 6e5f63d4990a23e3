"""Where things are in a template: tokens with line and column, and parsing that reports both.

Jinja reports only line numbers; we re-lex the source, remember where each token starts and
point errors at the token they are about (1-based columns).
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.lexer import TokenStream, newline_re, operators
from jinja2.parser import Parser

from engine.templates.errors import TemplateError

_UNEXPECTED_CHAR = re.compile(r"unexpected char .* at (\d+)$")


@dataclass(frozen=True)
class Token:
    """One raw token: where it starts and what it is (Jinja's lexer types)."""

    line: int
    column: int
    kind: str
    value: str

    @property
    def parsed_type(self) -> str:
        """The type the parser sees (operators by name: `gt`, `pipe`, …)."""
        return operators.get(self.value, self.kind) if self.kind == "operator" else self.kind

    @property
    def string_value(self) -> str:
        """A string token's text, unescaped the way Jinja does."""
        return self.value[1:-1].encode("ascii", "backslashreplace").decode("unicode-escape")


class Source:
    """A template source with its tokens; maps offsets to (line, column)."""

    def __init__(self, env: Environment, source: str) -> None:
        self.env = env
        self.text = "\n".join(newline_re.split(source)[::2])
        self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        self._solid: list[Token] | None = None

    @property
    def solid(self) -> list[Token]:
        """The tokens that are not whitespace or comments, with positions (lexed on first use).

        Only errors and warnings need positions: a template that parses and checks cleanly (each
        keystroke of a preview) never pays for them.
        """
        if self._solid is None:
            tokens: list[Token] = []
            with contextlib.suppress(TemplateSyntaxError):  # the tokens up to a lexing error
                for _ in self._tokens(tokens):
                    pass
            self._solid = [t for t in tokens if t.kind not in ("whitespace", "comment")]
        return self._solid

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of a character offset."""
        i = bisect.bisect_right(self._starts, offset) - 1
        return i + 1, offset - self._starts[i] + 1

    def _tokens(self, sink: list[Token]) -> Iterator[tuple[int, str, str]]:
        pos = 0
        self.lex_stop: int | None = None
        lexer = self.env.lexer.tokeniter(self.text, None)
        while True:
            try:
                lineno, kind, value = next(lexer)
            except StopIteration:
                return
            except TemplateSyntaxError:
                self.lex_stop = pos  # the lexer gave up right after the last token
                raise
            at = self.text.find(value, pos) if value else pos
            at = pos if at < 0 else at
            line, column = self.position(at)
            sink.append(Token(line, column, kind, value))
            pos = at + len(value)
            yield lineno, kind, value

    def parse(self) -> nodes.Template:
        """The template tree; a syntax error becomes a TemplateError with line and column."""
        try:
            return Parser(self.env, self.text).parse()
        except TemplateSyntaxError:
            pass
        pulled: list[Token] = []  # parse again, remembering where each token was, to point at the error
        self.lex_stop = None
        parser = Parser(self.env, "")
        try:
            parser.stream = TokenStream(self.env.lexer.wrap(self._tokens(pulled)), None, None)
            parser.parse()
        except TemplateSyntaxError as exc:
            raise self._syntax_error(exc, pulled, parser) from None
        raise AssertionError("the template parsed on the second attempt")  # pragma: no cover

    def _syntax_error(self, exc: TemplateSyntaxError, pulled: list[Token], parser: Parser) -> TemplateError:
        message = exc.message or "syntax error"
        line: int | None = exc.lineno
        column = None
        hit = _UNEXPECTED_CHAR.search(message)
        solid = [t for t in pulled if t.kind not in ("whitespace", "comment")]
        stream = getattr(parser, "stream", None)
        current = stream.current if stream is not None else None
        if hit:
            line, column = self.position(int(hit.group(1)))
        elif self.lex_stop is not None:
            line, column = self.position(self.lex_stop)
        elif current is not None and current.type != "eof":
            for token in reversed(solid):
                if token.line == current.lineno and token.parsed_type == current.type and (
                        current.type in ("string", "integer", "float", "data") or token.value == str(current.value)):
                    line, column = token.line, token.column
                    break
        elif current is not None and current.type == "eof":
            line, column = self.position(len(self.text))
        if column is None and solid:
            on_line = [t for t in solid if t.line == line] or solid[-1:]
            line, column = on_line[-1].line, on_line[-1].column
        return TemplateError(f"syntax error: {message}", line=line, column=column)

    def _before(self, token: Token) -> Token | None:
        i = self.solid.index(token)
        return self.solid[i - 1] if i else None

    def _after(self, token: Token) -> Token | None:
        i = self.solid.index(token)
        return self.solid[i + 1] if i + 1 < len(self.solid) else None

    def find_name(self, line: int | None, name: str, role: str = "variable") -> int | None:
        """Column of `name` on `line` used as a variable, filter, test or attribute."""
        for token in self.solid:
            if token.line != line or token.kind != "name" or token.value != name:
                continue
            before, after = self._before(token), self._after(token)
            prev = before.value if before else ""
            if role == "filter" and prev == "|":
                return token.column
            if role == "test" and prev in ("is", "not"):
                return token.column
            if role == "attribute" and prev == ".":
                return token.column
            if role == "variable" and prev not in (".", "|", "is") and not (after and after.value == "="):
                return token.column
        return None

    def find_string(self, line: int | None, text: str) -> int | None:
        """Column of the string literal `text` on `line`."""
        for token in self.solid:
            if token.line == line and token.kind == "string":
                try:
                    if token.string_value == text:
                        return token.column
                except UnicodeDecodeError:
                    continue
        return None

    def first_tag(self, line: int | None, word: str) -> int | None:
        """Column of the `{%` that opens tag `word` on `line`."""
        for token in self.solid:
            if token.line == line and token.kind == "name" and token.value == word:
                before = self._before(token)
                if before is not None and before.kind == "block_begin":
                    return before.column
        return None
