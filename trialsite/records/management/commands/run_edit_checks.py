"""Run every edit check over the data already entered (after a check is added or changed).

Hard and soft failures alike open (or keep open) an automatic data query on the field, and a
query whose problem is gone is closed: the same ``sync_automatic_queries`` the services call on
every save, so a re-run never duplicates a query. Nothing in the records themselves changes.

    manage.py run_edit_checks [--study NCT06880354] [--model enrollment.screeninglabs]
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trialsite.records import edit_checks, queries
from trialsite.records.models import ClinicalRecord, DataQuery


class Command(BaseCommand):
    help = "Run every edit check over existing records and open or close automatic queries."

    def add_arguments(self, parser):
        parser.add_argument("--study", help="NCT ID or protocol number (default: every study)")
        parser.add_argument("--model", help="app_label.model, e.g. enrollment.screeninglabs")

    def handle(self, *args, study=None, model=None, **options):
        models = [
            m
            for m in apps.get_models()
            if issubclass(m, ClinicalRecord) and edit_checks.checks_for(m)
        ]
        if model:
            models = [m for m in models if m._meta.label_lower == model.lower()]
            if not models:
                raise CommandError(f"No record model with edit checks is called {model!r}.")
        before = DataQuery.objects.exclude(status=DataQuery.Status.CLOSED).count()
        checked = 0
        for record_model in models:
            rows = record_model._default_manager.all()
            if study:
                rows = rows.filter(study__nct_id=study) | rows.filter(study__protocol_number=study)
            for record in rows.iterator(chunk_size=500):
                with transaction.atomic():
                    found = edit_checks.failures(record)
                    queries.sync_automatic_queries(record, found, actor=None)
                checked += 1
        after = DataQuery.objects.exclude(status=DataQuery.Status.CLOSED).count()
        self.stdout.write(
            f"Checked {checked} records of {len(models)} forms; open automatic and manual "
            f"queries: {before} before, {after} after."
        )
