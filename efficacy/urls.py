"""Efficacy pages (included at /efficacy/… by trialsite/urls.py)."""

app_name = "efficacy"

urlpatterns: list = []

from efficacy.urls_samples import urlpatterns as samples_urlpatterns  # noqa: E402

urlpatterns += samples_urlpatterns
