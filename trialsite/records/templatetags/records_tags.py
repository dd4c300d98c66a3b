from django import template
from django.contrib.contenttypes.models import ContentType

register = template.Library()


@register.filter
def content_type_id(record) -> int:
    """The content type id of a record (for the generic query and history URLs)."""
    return ContentType.objects.get_for_model(type(record)).pk
