"""Safety pages (included at /subjects/… and /safety/… by trialsite/urls.py)."""

app_name = "safety"

urlpatterns: list = []
