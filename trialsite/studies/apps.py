from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "trialsite.studies"
    label = "studies"
    verbose_name = "Studies, sites and roles"
