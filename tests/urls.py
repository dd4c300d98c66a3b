from django.urls import path

from tests.testapp import views
from trialsite.urls import urlpatterns as platform_urls

urlpatterns = [
    *platform_urls,
    path("test/sites/<int:site_id>/vitals/", views.VitalSignsCreate.as_view(), name="vitals-new"),
    path("test/vitals/<int:pk>/", views.VitalSignsEdit.as_view(), name="vitals-edit"),
    path("test/vitals/<int:pk>/sign/", views.VitalSignsSign.as_view(), name="vitals-sign"),
]
