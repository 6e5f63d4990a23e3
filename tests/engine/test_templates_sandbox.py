"""The sandbox: escapes fail with a TemplateError, runaway templates stop quickly, caps hold."""

from __future__ import annotations

import pytest

from engine.templates import (
    MAX_OUTPUT_CHARS,
    TemplateError,
    compile_template,
    template_environment,
)

SCHEMA = {"name": "text", "n": "integer"}
ROW = {"name": "ab\tc", "n": 5}


def outcome(source: str) -> str:
    """Compile and render; the TemplateError message if either fails."""
    try:
        return compile_template(source, SCHEMA).render(ROW)
    except TemplateError as exc:
        return f"TemplateError: {exc}"


ESCAPES = [
    ("{{ name.__class__ }}", "`__class__` is off limits"),
    ("{{ name.__class__.__subclasses__() }}", "off limits"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "off limits"),
    ("{{ name|attr('__class__') }}", "`attr` is not available"),
    ("{{ name|select('attr', '__class__')|list }}", "No test named 'attr'"),
    ("{{ ''.format_map({}) }}", "`format_map` is off limits"),
    ("{{ '{0.__class__}'.format(name) }}", "`format` is off limits"),
    ("{{ name|format(1) }}", "`format` is not available"),
    ("{{ self._TemplateReference__context }}", "off limits"),
    ("{{ self.__dict__ }}", "off limits"),
    ("{{ lipsum() }}", "unknown variable `lipsum`"),
    ("{{ cycler(1, 2).__init__ }}", "off limits"),
    ("{{ cycler(1, 2).next() }}", "unknown variable `cycler`"),
    ("{{ joiner(',') }}", "unknown variable `joiner`"),
    ("{% set ns = namespace(a=1) %}{% set ns.a = 2 %}", "unknown variable `namespace`"),
    ("{{ dict(a=1) }}", "unknown variable `dict`"),
    ("{% include 'x' %}", "`{% include %}` is not allowed"),
    ("{% import 'x' as y %}", "`{% import %}` is not allowed"),
    ("{% from 'x' import y %}", "`{% from %}` is not allowed"),
    ("{% extends 'x' %}", "`{% extends %}` is not allowed"),
    ("{{ name['__class__'] }}", "off limits"),
    ("{{ row.__class__ }}", "off limits"),
    ("{{ range.__self__ }}", "off limits"),
    ("{{ (1).__class__ }}", "off limits"),
    ("{{ n.to_bytes(8, 'big') }}", "`to_bytes` is off limits"),
    ("{{ name.encode() }}", "`encode` is off limits"),
    ("{{ '%s' % name }}", "formatting text with `%` is not allowed"),
    ("{% set f = name.format %}{{ f }}", "`format` is off limits"),
    ("{{ [1, 2].append(3) }}", "off limits"),
    ("{{ row.update({}) }}", "off limits"),
    ("{{ row.clear() }}", "off limits"),
    ("{{ name.translate({}) }}", "off limits"),
    ("{% set x = name.__class__ %}", "off limits"),
    ("{{ loop.__class__ }}", "off limits"),
    ("{{ name|safe }}", "`safe` is not needed"),
]


@pytest.mark.parametrize(("source", "fragment"), ESCAPES)
def test_escapes_fail(source: str, fragment: str) -> None:
    result = outcome(source)
    assert result.startswith("TemplateError"), result
    assert fragment in result, result


RUNAWAY = [
    ("{% for i in range(10**9) %}{% endfor %}", "range() may hold at most 10,000 items"),
    ("{{ range(10**100)|list }}", "range() may hold at most 10,000 items"),
    ("{{ 'A' * 10**9 }}", "would build more than 1,000,000 characters"),
    ("{{ 'x' * 999999999 }}", "would build more than 1,000,000 characters"),
    ("{{ [0] * 10**9 }}", "would build more than 1,000,000 characters"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "too much work"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}", ""),
    ("{% for a in 'x' * 1000 %}{% for b in 'y' * 1000 %}{% endfor %}{% endfor %}", "too much work"),
    ("{{ 10**100000 }}", "grows too large"),
    ("{{ 2 ** 5000 }}", "grows too large"),
    ("{{ (2**4000) * (2**4000) }}", "grows too large"),
    ("{{ name.ljust(10**9) }}", "`ljust` would build"),
    ("{{ name.center(10**9) }}", "`center` would build"),
    ("{{ name.zfill(10**9) }}", "`zfill` would build"),
    ("{{ 'ab'.replace('a', 'a' * 1000).replace('a', 'a' * 1000).replace('a', 'a' * 1000) }}", "`replace` would"),
    ("{{ ('a' * 1000)|replace('a', 'a' * 10000) }}", "replace would build"),
    ("{{ range(10000)|join('x' * 1000) }}", "join would build"),
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", ""),
    ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('x') }}", ""),
    ("{% macro f(s) %}{{ f(s + s) }}{% endmacro %}{{ f('x') }}", ""),
    ("{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}", ""),
    ("{% set s = 'a' * 900000 %}{{ [s] * 100 }}", "would build more than"),
    ("{% set s = 'a' * 900000 %}{{ [s, s, s] }}", "printing this value would build"),
    ("{% set s = 'a' * 900000 %}{{ [s, s] ~ '' }}", "`~` would build"),
    ("{% set s = 'a' * 900000 %}{{ [s, s]|string }}", "string would build"),
    ("{% set s = 'a' * 900000 %}{{ ''.join([s, s]) }}", "`join` would build"),
    ("{% set s = 'a' * 900000 %}{{ [s] + [s] }}", "`+` would build"),
    ("{{ name|map('upper')|list }}", "unknown filter `map`"),
    ("{{ name|tojson }}", "unknown filter `tojson`"),
    ("{% for i in range(9999) %}{{ 'x' * 20 }}{% endfor %}", "output too long"),
    ("{{ name * 100001 }}", "output too long"),
]


@pytest.mark.parametrize(("source", "fragment"), RUNAWAY)
def test_runaway_templates_stop_with_an_error(source: str, fragment: str) -> None:
    result = outcome(source)
    assert result.startswith("TemplateError"), result[:200]
    assert fragment in result, result


def test_output_cap_counts_characters() -> None:
    tmpl = compile_template("{{ name }}", {"name": "text"})
    assert len(tmpl.render({"name": "x" * MAX_OUTPUT_CHARS})) == MAX_OUTPUT_CHARS
    with pytest.raises(TemplateError, match="output too long"):
        tmpl.render({"name": "x" * (MAX_OUTPUT_CHARS + 1)})


ALLOWED = [
    ("{{ name.upper() }}|{{ name.split('\t')|join('-') }}|{{ name|length }}", "AB\tC|ab-c|4"),
    ("{% for i in range(3) %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}", "1,2,3"),
    ("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(n) }}", "<5>"),
    ("{{ (n * 2) ~ (n ** 2) ~ (n // 2) ~ (n % 2) }}", "102521"),
    ("{{ row.get('n') }}|{{ row|length }}", "5|2"),
    ("{{ name.ljust(6, '.') }}", "ab\tc.."),
    ("{{ range(3)|join }}|{{ [1, 'a']|string }}|{{ ''.join(['x', 'y']) }}", "012|[1, 'a']|xy"),
    ("{% filter upper %}{{ name }}{% endfilter %}", "AB\tC"),
]


@pytest.mark.parametrize(("source", "expected"), ALLOWED)
def test_ordinary_jinja_still_works(source: str, expected: str) -> None:
    assert outcome(source) == expected


def test_environment_is_a_cached_immutable_sandbox() -> None:
    env = template_environment()
    assert env is template_environment()
    assert env.sandboxed and env.autoescape is False
    assert set(env.globals) == {"range"}
    assert "attr" not in env.filters and "truncate" in env.filters


def test_each_render_gets_a_fresh_step_budget() -> None:
    tmpl = compile_template("{% for i in range(4000) %}{% for j in range(10) %}{% endfor %}{% endfor %}x", {})
    for _ in range(3):
        assert tmpl.render({}) == "x"
