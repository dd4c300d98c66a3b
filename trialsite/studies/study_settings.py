"""The study settings document: every clinical rule setting (docs/rules/), validated and versioned.

The document is a JSON object of *sections*, one per rules module (``enrollment``, ``safety``,
``dosing``, ``efficacy``) plus structured sections (dose levels, DLT criteria, visit schedule).
Each clinical app registers its sections in ``AppConfig.ready()`` — the studies layer stays the
lowest layer and never imports the apps above it (see docs). A section's defaults come from its
rules module's ``SETTINGS_DEFAULTS`` so that the defaults live in exactly one place.

Validation is strict: unknown sections or keys, wrong types and values outside a setting's choices
are refused with a message naming the setting, because a silently ignored typo in a study setting
changes clinical decisions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SectionValidator = Callable[[object], object]


@dataclass(frozen=True)
class SettingsSection:
    """One section of the document.

    ``defaults`` is a flat mapping of setting name to default (flat sections), or ``None`` with a
    ``validate`` function for a structured section (a list or nested object), whose ``default``
    gives the initial value. ``validate`` returns the cleaned value or raises ``ValueError``.
    """

    name: str
    label: str
    defaults: Mapping[str, object] | None = None
    choices: Mapping[str, tuple] = field(default_factory=dict)
    default: object = None
    validate: SectionValidator | None = None


_SECTIONS: dict[str, SettingsSection] = {}
# Checks across sections: fn(document) -> {section: message} of problems (empty when fine).
_DOCUMENT_CHECKS: list[Callable[[dict], dict[str, str]]] = []


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
    if not isinstance(values, Mapping):
        raise ValueError(f"section {section.name!r} must be an object of settings")
    assert section.defaults is not None
    cleaned = {}
    for key, value in values.items():
        if key not in section.defaults:
            allowed = ", ".join(sorted(section.defaults))
            raise ValueError(f"{section.name}.{key} is not a setting; known: {allowed}")
        default = section.defaults[key]
        cleaned[key] = _check_value(f"{section.name}.{key}", value, default)
        allowed_values = section.choices.get(key)
        if allowed_values is not None and cleaned[key] not in allowed_values:
            shown = ", ".join(repr(v) for v in allowed_values)
            raise ValueError(f"{section.name}.{key}={value!r} is not one of: {shown}")
    return {**{k: _jsonable(v) for k, v in section.defaults.items()}, **cleaned}


def _check_value(name: str, value: object, default: object) -> object:
    """Keep a value only when it has the default's kind (bool, number, text, list or None)."""
    if default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value
    if isinstance(default, int | float | Decimal):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number, not {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and value != int(value):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        return int(value) if isinstance(default, int) else float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be text, not {value!r}")
        return value
    if isinstance(default, list | tuple):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{name} must be a list, not {value!r}")
        return list(value)
    return value


def validate_document(document: object) -> dict:
    """Return the cleaned, complete document or raise ``ValidationError`` keyed by section."""
    if not isinstance(document, Mapping):
        raise ValidationError(_("The study settings must be a JSON object."), code="invalid")
    unknown = sorted(set(document) - set(_SECTIONS))
    if unknown:
        raise ValidationError(
            {name: _("Unknown settings section.") for name in unknown}, code="unknown_section"
        )
    cleaned: dict = {}
    errors: dict[str, str] = {}
    defaults = default_document()
    for name, section in _SECTIONS.items():
        value = document.get(name, defaults[name])
        try:
            if section.defaults is not None:
                cleaned[name] = _check_flat(section, value)
            else:
                cleaned[name] = section.validate(value) if section.validate else value
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


def register_rules_module(name: str, label: str, module) -> None:
    """Register a rules module's ``SETTINGS_DEFAULTS``/``SETTINGS_CHOICES`` as a flat section."""
    register_section(
        SettingsSection(
            name=name,
            label=label,
            defaults=dict(module.SETTINGS_DEFAULTS),
            choices=dict(getattr(module, "SETTINGS_CHOICES", {})),
        )
    )
