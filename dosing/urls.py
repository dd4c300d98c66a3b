from django.urls import path

from dosing import views

app_name = "dosing"

urlpatterns = [
    path("<int:pk>/assignment/", views.AssignView.as_view(), name="assign"),
    path("<int:pk>/apheresis/", views.ApheresisView.as_view(), name="apheresis"),
    path("<int:pk>/product-release/", views.ProductReleaseView.as_view(), name="release"),
    path("<int:pk>/lymphodepletion/", views.LymphodepletionView.as_view(), name="lymphodepletion"),
    path("<int:pk>/infusion/", views.InfusionView.as_view(), name="infusion"),
    path("<int:pk>/assignment/end/", views.end_assignment, name="end-assignment"),
]
