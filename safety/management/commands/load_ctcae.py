"""``manage.py load_ctcae CTCAE_v5.0.xlsx [--user NAME]``: load NCI's complete term file.

Replaces the shipped subset (terms in use are kept and updated, never deleted) and records the
load — who, when, the file's SHA-256 and the counts — as a ``CTCAELoad`` row
(``safety.services.terms``).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from safety.services.terms import load_ctcae_file
from safety.terms_loader import TermFileError


class Command(BaseCommand):
    help = "Load NCI's CTCAE v5.0 spreadsheet (xlsx or csv), replacing the shipped subset."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CTCAE_v5.0.xlsx (or a CSV export in the same layout)")
        parser.add_argument(
            "--user", help="Username recorded as having loaded it (default: the system)"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = None
        if options.get("user"):
            try:
                actor = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user {options['user']!r}.") from None
        try:
            load = load_ctcae_file(path.read_bytes(), path.name, actor=actor)
        except TermFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Loaded {path.name} (sha256 {load.sha256[:12]}…): {load.created} added, "
            f"{load.updated} changed, {load.unchanged} unchanged, {load.removed} removed, "
            f"{load.kept_in_use} kept because adverse events use them; {load.total} terms."
        )
