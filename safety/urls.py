"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []

from safety.urls_sae import urlpatterns as sae_urlpatterns  # noqa: E402

urlpatterns += sae_urlpatterns
