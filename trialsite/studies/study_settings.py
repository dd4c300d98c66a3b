"""The study settings document: every clinical rule setting (docs/rules/), validated and versioned.

The document is a JSON object of *sections*, one per rules module (``enrollment``, ``safety``,
``dosing``, ``efficacy``) plus structured sections (dose levels, DLT criteria, visit schedule).
Each clinical app registers its sections in ``AppConfig.ready()`` — the studies layer stays the
lowest layer and never imports the apps above it (see docs). A section's defaults come from its
rules module's ``SETTINGS_DEFAULTS`` so that the defaults live in exactly one place.

Validation is strict: unknown sections or keys, wrong types, values outside a setting's choices or
range, NaN and infinite numbers are refused with a message naming the setting, because a silently
ignored typo in a study setting changes clinical decisions. A flat section is checked by its rules
module's own ``validate_settings`` — the function its rule functions use — so a stored setting is
always one the rules accept (issue 10 item 3). Errors are keyed ``section.setting`` (or
``section`` for a structured section) so that pages show each beside its field.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rulekit.settings import Range, SettingsError

SectionValidator = Callable[[object], object]


@dataclass(frozen=True)
class SettingField:
    """One labelled input of a structured section: a column of a list or a key of an object.

    ``kind``: text, integer, number, date (ISO text in the document), choice, choices (a list
    drawn from ``choices``), bool, lines (a list of texts), pairs (``{text: whole number}``), or
    position (a list's row number, 1..n, filled from the row's place). ``optional``: left empty,
    the value is null. ``help`` says what the setting does and cites the rule that uses it.
    """

    name: str
    label: str
    kind: str = "text"
    help: str = ""
    choices: tuple = ()
    optional: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class SettingsSection:
    """One section of the document.

    ``defaults`` is a flat mapping of setting name to default (flat sections), or ``None`` with a
    ``validate`` function for a structured section (a list or nested object), whose ``default``
    gives the initial value. ``validate`` returns the cleaned value or raises ``ValueError``.
    A flat section's ``check`` is its rules module's ``validate_settings`` (raising
    ``rulekit.settings.SettingsError``); ``ranges`` and ``help`` describe its settings on the page.
    """

    name: str
    label: str
    defaults: Mapping[str, object] | None = None
    choices: Mapping[str, tuple] = field(default_factory=dict)
    default: object = None
    validate: SectionValidator | None = None
    check: Callable[[Mapping], dict] | None = None
    ranges: Mapping[str, Range] = field(default_factory=dict)
    help: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    # Structured sections: their inputs (columns of a list, keys of an object), the groups an
    # object's keys are shown in (label, names), and how a list's rows are ordered when saved.
    fields: tuple[SettingField, ...] = ()
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort_key: Callable[[dict], object] | None = None

    @property
    def is_flat(self) -> bool:
        return self.defaults is not None

    @property
    def is_table(self) -> bool:
        """A list section edited as a table of rows (its columns are declared)."""
        return not self.is_flat and bool(self.fields) and isinstance(self.default, list)

    @property
    def is_object(self) -> bool:
        """An object section edited as labelled fields (its keys are declared)."""
        return not self.is_flat and bool(self.fields) and isinstance(self.default, dict)


_SECTIONS: dict[str, SettingsSection] = {}
# Checks across sections: fn(document) -> {section: message} of problems (empty when fine).
_DOCUMENT_CHECKS: list[Callable[[dict], dict[str, str]]] = []


# Run on commit of a settings change: fn(study, actor=..., reason=...) recomputes what it affects.
_CHANGE_HOOKS: list[Callable[..., object]] = []


def register_change_hook(hook: Callable[..., object]) -> None:
    """Recompute derived results after a settings change (an app's ``ready()``; issue 10 item 4)."""
    if hook not in _CHANGE_HOOKS:
        _CHANGE_HOOKS.append(hook)


def change_hooks() -> list[Callable[..., object]]:
    return list(_CHANGE_HOOKS)


def register_document_check(check: Callable[[dict], dict[str, str]]) -> None:
    if check not in _DOCUMENT_CHECKS:
        _DOCUMENT_CHECKS.append(check)


def register_section(section: SettingsSection) -> None:
    """Add a section (called from an app's ``ready()``); registering twice is harmless."""
    _SECTIONS[section.name] = section


def sections() -> dict[str, SettingsSection]:
    return dict(_SECTIONS)


def default_document() -> dict:
    """A complete document holding every registered setting at its default."""
    document: dict = {}
    for name, section in _SECTIONS.items():
        if section.defaults is not None:
            document[name] = {key: _jsonable(value) for key, value in section.defaults.items()}
        else:
            document[name] = copy.deepcopy(section.default)
    return document


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _check_flat(section: SettingsSection, values: object) -> dict:
    """The section through its rules module's check; ``SettingsError`` keyed by setting."""
    assert section.defaults is not None and section.check is not None
    if not isinstance(values, Mapping):
        raise SettingsError({"": f"section {section.name!r} must be an object of settings"})
    return {key: _jsonable(value) for key, value in section.check(values).items()}


def non_finite_paths(value: object, path: str = "") -> list[str]:
    """Where a document holds NaN or an infinite number (JSON has neither; PostgreSQL refuses)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path or "(document)"]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in non_finite_paths(v, f"{path}.{k}".strip("."))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in non_finite_paths(v, f"{path}[{i}]")]
    return []


def validate_document(document: object) -> dict:
    """Return the cleaned, complete document or raise ``ValidationError`` keyed by section."""
    if not isinstance(document, Mapping):
        raise ValidationError(_("The study settings must be a JSON object."), code="invalid")
    unknown = sorted(set(document) - set(_SECTIONS))
    if unknown:
        raise ValidationError(
            {name: _("Unknown settings section.") for name in unknown}, code="unknown_section"
        )
    bad_numbers = non_finite_paths(document)
    if bad_numbers:
        raise ValidationError(
            {
                path.split(".")[0].split("[")[0]: _("%(path)s must be a finite number.")
                % {"path": path}
                for path in bad_numbers
            },
            code="not_finite",
        )
    cleaned: dict = {}
    errors: dict[str, str] = {}
    defaults = default_document()
    for name, section in _SECTIONS.items():
        value = document.get(name, defaults[name])
        try:
            if section.is_flat:
                cleaned[name] = _check_flat(section, value)
            else:
                cleaned[name] = section.validate(value) if section.validate else value
        except SettingsError as exc:
            for key, message in exc.errors.items():
                errors[f"{name}.{key}" if key else name] = message
        except ValueError as exc:
            errors[name] = str(exc)
    if not errors:
        for check in _DOCUMENT_CHECKS:
            errors.update(check(cleaned))
    if errors:
        raise ValidationError(errors, code="invalid_setting")
    return cleaned


def diff_documents(old: Mapping, new: Mapping) -> dict[str, list]:
    """Field-level changes between two documents as ``{"section.key": [old, new]}``."""
    changes: dict[str, list] = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    changes[f"{name}.{key}"] = [before.get(key), after.get(key)]
        elif before != after:
            changes[name] = [before, after]
    return changes


def register_rules_module(name: str, label: str, module, *, check=None) -> None:
    """Register a rules module's declared settings as a flat section.

    The module gives ``SETTINGS_DEFAULTS``, ``SETTINGS_CHOICES``, ``SETTINGS_RANGES``,
    ``SETTINGS_HELP`` and ``validate_settings`` (or ``check``, a function calling it).
    """
    register_section(
        SettingsSection(
            name=name,
            label=label,
            defaults=dict(module.SETTINGS_DEFAULTS),
            choices=dict(getattr(module, "SETTINGS_CHOICES", {})),
            check=check or module.validate_settings,
            ranges=dict(module.SETTINGS_RANGES),
            help=dict(getattr(module, "SETTINGS_HELP", {})),
            source=module.__name__,
        )
    )
