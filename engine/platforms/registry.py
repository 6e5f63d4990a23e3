"""The platform registry: platform → content type → format → fields with their limits.

This is the only place a platform limit lives. Built-in formats register through
`register_format` exactly as an extension would.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from engine.errors import EngineError
from engine.platforms.counting import get_count_method

__all__ = [
    "FIELD_KINDS",
    "FieldKind",
    "FieldSpec",
    "Format",
    "Platform",
    "get_format",
    "get_platform",
    "list_formats",
    "list_platforms",
    "register_format",
    "register_platform",
    "repeated",
]

FieldKind = Literal["text", "markdown", "url", "enum", "bool"]
FIELD_KINDS: frozenset[str] = frozenset({"text", "markdown", "url", "enum", "bool"})


@dataclass(frozen=True)
class FieldSpec:
    """One field of a format and every constraint a platform puts on it."""

    name: str
    label: str
    source: str
    kind: FieldKind = "text"
    required: bool = False
    max_chars: int | None = None
    count: str = "code_points"
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    pattern_hint: str | None = None
    max_items: int | None = None
    item_pattern: str | None = None
    item_label: str = "items"
    recommended_chars: int | None = None
    group: str | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise EngineError(f"field name {self.name!r} must be an identifier not starting with '_'")
        if self.kind not in FIELD_KINDS:
            raise EngineError(f"field {self.name!r}: unknown kind {self.kind!r}", field=self.name)
        if not self.source.strip():
            raise EngineError(f"field {self.name!r} needs a source for its limits", field=self.name)
        if self.kind == "enum" and not self.allowed:
            raise EngineError(f"enum field {self.name!r} needs allowed values", field=self.name)
        if self.max_items is not None and not self.item_pattern:
            raise EngineError(f"field {self.name!r}: max_items needs an item_pattern", field=self.name)
        get_count_method(self.count)

    @property
    def allowed_values(self) -> tuple[str, ...]:
        """Values the field accepts (bool fields accept true/false in any case)."""
        return ("true", "false") if self.kind == "bool" else self.allowed


def repeated(prefix: str, label: str, maximum: int, minimum: int, **spec: object) -> tuple[FieldSpec, ...]:
    """Fields `prefix_1 … prefix_<maximum>` of one group; the first `minimum` are required."""
    return tuple(
        FieldSpec(name=f"{prefix}_{i}", label=f"{label} {i}", required=i <= minimum, group=prefix,
                  **spec)  # type: ignore[arg-type]
        for i in range(1, maximum + 1)
    )


@dataclass(frozen=True)
class Format:
    """A publishable thing (a Reddit thread, a Google responsive search ad) and its fields."""

    platform: str
    content_type: str
    name: str
    label: str
    fields: tuple[FieldSpec, ...]
    source: str = ""
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise EngineError(f"format {self.key}: duplicate fields {', '.join(dupes)}")

    @property
    def key(self) -> str:
        """`platform/name`, e.g. `reddit/thread`."""
        return f"{self.platform}/{self.name}"

    @property
    def field_names(self) -> tuple[str, ...]:
        """Field names in display order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The field called `name`, or an error that suggests the closest one."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        hint = difflib.get_close_matches(name, self.field_names, n=1)
        tip = f"; did you mean {hint[0]!r}?" if hint else f"; fields: {', '.join(self.field_names)}"
        raise EngineError(f"{self.label} has no field {name!r}{tip}", field=name)

    def groups(self) -> dict[str, tuple[int, int]]:
        """Repeated field groups → (required minimum, maximum), e.g. headline → (3, 15)."""
        out: dict[str, tuple[int, int]] = {}
        for spec in self.fields:
            if spec.group:
                lo, hi = out.get(spec.group, (0, 0))
                out[spec.group] = (lo + spec.required, hi + 1)
        return out


@dataclass
class Platform:
    """A platform and its formats grouped by content type."""

    name: str
    label: str
    formats: dict[str, Format] = field(default_factory=dict)

    def content_types(self) -> dict[str, list[Format]]:
        """Formats grouped by content type, in registration order."""
        out: dict[str, list[Format]] = {}
        for fmt in self.formats.values():
            out.setdefault(fmt.content_type, []).append(fmt)
        return out


_PLATFORMS: dict[str, Platform] = {}


def register_platform(name: str, label: str) -> Platform:
    """Declare a platform (or relabel one); formats may also register it implicitly."""
    platform = _PLATFORMS.setdefault(name, Platform(name, label))
    platform.label = label
    return platform


def register_format(fmt: Format, *, replace: bool = False) -> Format:
    """Add a format to the registry; built-ins register the same way."""
    platform = _PLATFORMS.get(fmt.platform) or register_platform(fmt.platform, fmt.platform.title())
    if fmt.name in platform.formats and not replace:
        raise EngineError(f"format {fmt.key} is already registered")
    platform.formats[fmt.name] = fmt
    return fmt


def get_platform(name: str) -> Platform:
    """A registered platform, or an error naming the known ones."""
    try:
        return _PLATFORMS[name]
    except KeyError:
        hint = difflib.get_close_matches(name, list(_PLATFORMS), n=1)
        tip = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(_PLATFORMS)}"
        raise EngineError(f"unknown platform {name!r}; {tip}") from None


def get_format(platform: str, name: str) -> Format:
    """A registered format, e.g. `get_format("reddit", "thread")`."""
    formats = get_platform(platform).formats
    try:
        return formats[name]
    except KeyError:
        hint = difflib.get_close_matches(name, list(formats), n=1)
        tip = f"did you mean {hint[0]!r}?" if hint else f"known: {', '.join(formats)}"
        raise EngineError(f"{platform} has no format {name!r}; {tip}") from None


def list_platforms() -> list[Platform]:
    """Registered platforms in registration order (for UI pickers)."""
    return list(_PLATFORMS.values())


def list_formats() -> list[Format]:
    """Every registered format, platform by platform."""
    return [fmt for p in _PLATFORMS.values() for fmt in p.formats.values()]
