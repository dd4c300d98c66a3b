from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "trialsite.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self):
        from trialsite.api import schema  # noqa: F401 - registers the OpenAPI extensions
