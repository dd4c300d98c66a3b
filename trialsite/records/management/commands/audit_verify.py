"""``manage.py audit_verify``: check every audit chain; exit 1 naming each broken record."""

from django.core.management.base import BaseCommand, CommandError

from trialsite.records.audit import verify_chains
from trialsite.records.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Verify the hash chain of every record's audit trail. Exits non-zero and names each "
        "record whose audit rows were altered, removed or re-ordered outside the application."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", help="Only this study (protocol number).")

    def handle(self, *args, **options):
        events = AuditEvent.objects.all()
        if options["study"]:
            events = events.filter(study__protocol_number=options["study"])
        broken = list(verify_chains(events))
        total = events.count()
        if broken:
            for item in broken:
                self.stderr.write(f"BROKEN {item}")
            raise CommandError(
                f"{len(broken)} record(s) have a broken audit trail ({total} audit rows checked)."
            )
        self.stdout.write(self.style.SUCCESS(f"All audit chains verify ({total} audit rows)."))
