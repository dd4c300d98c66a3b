from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "trialsite.records"
    label = "records"
    verbose_name = "Clinical records, audit trail and signatures"
