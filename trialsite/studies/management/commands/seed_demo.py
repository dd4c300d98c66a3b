"""``manage.py seed_demo``: the demo study, its site and one login per role (idempotent).

Apps add their own synthetic data by providing ``<app>/demo.py`` with
``seed(study, site, users, stdout)``; they run in layer order (docs/architecture.md §2).

Never in production (issue 9 §4): the demo logins have a published password, and every run resets
it. ``make run`` seeds only when ``DEMO=true`` (its default); docker-compose never seeds.
"""

import importlib
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from trialsite.studies.demo import DEMO_USERS, seed_study, seed_users

APP_SEEDERS = ("enrollment.demo", "safety.demo", "dosing.demo", "efficacy.demo")


class Command(BaseCommand):
    help = "Create (or refresh) the demo study NCT06880354 with one user per role."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo never runs when DJANGO_ENV=production: the demo logins have a "
                "published password. Create real accounts with manage.py createsuperuser."
            )
        password = os.environ.get("DEMO_PASSWORD", "trialsite-demo")
        with transaction.atomic():
            study, site = seed_study()
            users = seed_users(study, site, password)
        for module_name in APP_SEEDERS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.seed(study=study, site=site, users=users, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo study: {study}; site: {site}"))
        self.stdout.write("Logins (password: the DEMO_PASSWORD variable, default trialsite-demo):")
        for username, (role, *_rest) in DEMO_USERS.items():
            self.stdout.write(f"  {username:<13} {role.label}")
