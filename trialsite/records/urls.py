from django.urls import path

from trialsite.records import notification_views, query_views

app_name = "records"

urlpatterns = [
    path(
        "notifications/<int:pk>/",
        notification_views.open_notification,
        name="notification",
    ),
    path(
        "notifications/<int:pk>/dismiss/",
        notification_views.dismiss_notification,
        name="notification-dismiss",
    ),
    path("queries/", query_views.query_list, name="queries"),
    path("queries/<int:pk>/", query_views.query_detail, name="query"),
    path("queries/<int:pk>/<slug:verb>/", query_views.query_action, name="query-action"),
    path(
        "records/<int:content_type_id>/<str:object_id>/query/",
        query_views.raise_query,
        name="raise-query",
    ),
    path(
        "records/<int:content_type_id>/<str:object_id>/history/",
        query_views.record_history,
        name="history",
    ),
]
