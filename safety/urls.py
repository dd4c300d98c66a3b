"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []

from safety.urls_ae import urlpatterns as ae_urlpatterns  # noqa: E402

urlpatterns += ae_urlpatterns
