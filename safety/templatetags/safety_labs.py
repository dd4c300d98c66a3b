"""Template tags for the lab links on the subject page (one query: the pending proposals)."""

from django import template

from safety.selectors_labs import pending_proposal_counts

register = template.Library()


@register.simple_tag
def lab_pending_count(subject) -> int:
    return pending_proposal_counts([subject.pk]).get(subject.pk, 0)
