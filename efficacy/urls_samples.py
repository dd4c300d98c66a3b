"""Sample pages: kinetics, anti-CAR antibodies, RCL per subject, and the sample import."""

from django.urls import path

from efficacy import views_samples

urlpatterns = [
    path("subjects/<int:pk>/kinetics/", views_samples.kinetics_page, name="kinetics"),
    path("subjects/<int:pk>/kinetics.csv", views_samples.kinetics_csv, name="kinetics-csv"),
    path("subjects/<int:pk>/anti-car/", views_samples.anti_car_page, name="anti-car"),
    path("subjects/<int:pk>/rcl/", views_samples.rcl_page, name="rcl"),
    path("samples/import/", views_samples.sample_import_page, name="sample-import"),
    path(
        "samples/import/<str:token>/status/",
        views_samples.sample_import_status,
        name="sample-import-status",
    ),
]
