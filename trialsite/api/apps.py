from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "trialsite.api"
    label = "api"
    verbose_name = "REST API"
