"""``manage.py audit_anchor``: anchor every study's audit head now (as the periodic task does)."""

from django.core.management.base import BaseCommand

from trialsite.records.anchors import anchor_all_studies, anchor_time


class Command(BaseCommand):
    help = (
        "Write each study's audit head (last audit row, its hash, the row count and every chain "
        "head since the previous anchor), sealed with AUDIT_ANCHOR_KEY, to the anchor table and "
        "the log. Studies with nothing audited since their last anchor are skipped."
    )

    def handle(self, *args, **options):
        anchors = anchor_all_studies()
        for anchor in anchors:
            self.stdout.write(
                f"Anchored {anchor.study.protocol_number}: audit row #{anchor.last_event_id}, "
                f"{anchor.event_count} rows, at {anchor_time(anchor)}."
            )
        if not anchors:
            self.stdout.write("Nothing new to anchor.")
