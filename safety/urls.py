"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []

from safety.urls_dlt import urlpatterns as dlt_urlpatterns  # noqa: E402

urlpatterns += dlt_urlpatterns
