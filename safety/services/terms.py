"""Loading the CTCAE v5.0 term dictionary: the shipped subset, or NCI's complete file.

Every load is one transaction and leaves one ``CTCAELoad`` row (who, when, the file's SHA-256
and the counts). A load from NCI's file replaces the shipped subset: each term of the file is
added or brought up to date; a term the file does not have is removed unless an adverse event
uses it — terms in use are kept, never deleted (``on_delete=PROTECT`` would refuse anyway).
CRS and ICANS keep the ASTCT 2019 grade texts this study grades them by (RULES.md §2), with
NCI's MedDRA code for CRS when the file has one.

The functions take the models as arguments so the data migration can call them with its
historical models (``safety/migrations``).
"""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction

from safety.terms_loader import TermRow, astct_rows, parse_rows, read_cells, sha256, shipped_rows
from trialsite import clock

SHIPPED_SOURCE = "shipped subset"
NCI_SOURCE = "NCI CTCAE v5.0 file"


def _models():
    from safety.models import AdverseEvent, CTCAELoad, CTCAETerm

    return CTCAETerm, AdverseEvent, CTCAELoad


def _with_astct(rows: list[TermRow]) -> list[tuple[TermRow, str]]:
    """The rows with CRS and ICANS graded by ASTCT 2019 (keeping a code the file gives)."""
    by_name = {row.term.lower(): row for row in rows}
    for astct in astct_rows():
        ctcae = by_name.get(astct.term.lower())
        if ctcae is not None and ctcae.meddra_code and ctcae.code_to_verify is False:
            astct = replace(astct, meddra_code=ctcae.meddra_code, code_to_verify=False)
        by_name[astct.term.lower()] = astct
    astct_names = {row.term.lower() for row in astct_rows()}
    return [
        (row, "astct_2019" if key in astct_names else "ctcae_v5") for key, row in by_name.items()
    ]


def apply_terms(
    rows: list[TermRow],
    *,
    source: str,
    file_name: str,
    digest: str,
    actor=None,
    replace_missing: bool,
    models=None,
    using: str = "default",
):
    """Write the terms and the load's audit row; returns the ``CTCAELoad``.

    ``using``: the database alias to write through — a migration passes its own connection's
    (``schema_editor.connection.alias``), which in production is the owner's, not the app's.
    """
    Term, AdverseEvent, Load = models or _models()
    terms, events, loads = (m.objects.db_manager(using) for m in (Term, AdverseEvent, Load))
    counts = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0, "kept_in_use": 0}
    label = NCI_SOURCE if source == "nci_file" else SHIPPED_SOURCE
    with transaction.atomic(using=using):
        existing = {t.term.lower(): t for t in terms.select_for_update()}
        wanted = _with_astct(rows)
        for row, scale in wanted:
            values = {**row.field_values(), "grading_scale": scale, "source": label}
            current = existing.get(row.term.lower())
            if current is None:
                terms.create(term=row.term, **values)
                counts["created"] += 1
                continue
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            if current.term != row.term:
                changed["term"] = row.term
            if changed:
                for name, value in changed.items():
                    setattr(current, name, value)
                current.save(using=using, update_fields=list(changed))
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        if replace_missing:
            names = {row.term.lower() for row, _scale in wanted}
            gone = [t for key, t in existing.items() if key not in names]
            used = set(
                events.filter(term_id__in=[t.pk for t in gone]).values_list("term_id", flat=True)
            )
            for term in gone:
                if term.pk in used:
                    counts["kept_in_use"] += 1
                else:
                    term.delete(using=using)
                    counts["removed"] += 1
        return loads.create(
            loaded_at=clock.now(),
            loaded_by=actor,
            source=source,
            file_name=file_name[:255],
            sha256=digest,
            total=terms.count(),
            **counts,
        )


def load_shipped_terms(*, actor=None, models=None, using: str = "default"):
    """Load the shipped subset when no term exists yet (migration, seeding); else do nothing."""
    from safety.terms_loader import SHIPPED_FILE

    Term = (models or _models())[0]
    if Term.objects.db_manager(using).exists():
        return None
    return apply_terms(
        shipped_rows(),
        source="shipped",
        file_name=SHIPPED_FILE.name,
        digest=sha256(SHIPPED_FILE.read_bytes()),
        actor=actor,
        replace_missing=False,
        models=models,
        using=using,
    )


def load_ctcae_file(content: bytes, file_name: str, *, actor=None):
    """Load NCI's CTCAE v5.0 spreadsheet (xlsx or csv), replacing the shipped subset.

    Raises ``safety.terms_loader.TermFileError`` (nothing written) for a file not in NCI's
    layout.
    """
    rows = parse_rows(read_cells(content, file_name), from_nci=True)
    return apply_terms(
        rows,
        source="nci_file",
        file_name=file_name,
        digest=sha256(content),
        actor=actor,
        replace_missing=True,
    )
