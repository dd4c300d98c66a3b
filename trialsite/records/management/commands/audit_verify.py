"""``manage.py audit_verify``: check every audit trail; exit 1 naming each record with a finding."""

from django.core.management.base import BaseCommand, CommandError

from trialsite.records.audit import verify_trail
from trialsite.records.models import AuditEvent
from trialsite.studies.models import Study


class Command(BaseCommand):
    help = (
        "Verify every record's audit trail: its hash chain, its length against the record's "
        "version, and its last HMAC anchor. Exits non-zero and names each record whose audit "
        "rows were altered, removed, re-hashed or re-ordered outside the application."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", help="Only this study (protocol number).")

    def handle(self, *args, **options):
        study_id = None
        events = AuditEvent.objects.all()
        if options["study"]:
            study = Study.objects.filter(protocol_number=options["study"]).first()
            if study is None:
                raise CommandError(f"No study with protocol number {options['study']}.")
            study_id = study.pk
            events = events.filter(study_id=study_id)
        findings = verify_trail(study_id)
        total = events.count()
        if findings:
            for item in findings:
                self.stderr.write(f"BROKEN {item}")
            records = len({(item.content_type, item.object_id) for item in findings})
            raise CommandError(
                f"{records} record(s) have a broken audit trail ({total} audit rows checked)."
            )
        self.stdout.write(self.style.SUCCESS(f"All audit chains verify ({total} audit rows)."))
