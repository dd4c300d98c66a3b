"""The shipped CTCAE subset's blank definitions are said to be blank on the data manager's term
page, with how to fill them (safety/terms_data/README.md: no verified source ships them)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from safety.models import CTCAETerm

pytestmark = pytest.mark.django_db

LOAD_HINT = "definition not yet loaded — load NCI's file with"


def test_a_blank_definition_says_how_to_load_it(client, data_manager):
    blank = CTCAETerm.objects.filter(definition="", soc="Cardiac disorders").order_by("term")
    assert blank.exists(), "the shipped subset has cardiac terms without a definition"
    client.force_login(data_manager)
    page = client.get(reverse("safety:ctcae-terms"), {"soc": "Cardiac disorders"})
    assert page.status_code == 200
    html = page.content.decode()
    rows = html.split('data-col="definition">')[1:]
    shown = {t.term for t in page.context["page"]}
    assert len(rows) == len(shown)
    missing = sum(1 for row in rows if LOAD_HINT in row.split("</td>")[0])
    assert missing == blank.filter(term__in=shown).count()
    assert "<code>manage.py load_ctcae</code>" in html


def test_a_loaded_definition_is_shown_instead(client, data_manager):
    anemia = CTCAETerm.objects.get(term="Anemia")
    assert anemia.definition.startswith("A disorder characterized by a reduction")
    client.force_login(data_manager)
    page = client.get(reverse("safety:ctcae-terms"), {"soc": anemia.soc})
    row = page.content.decode().split("<td>Anemia</td>")[1].split("</tr>")[0]
    assert "A disorder characterized by a reduction" in row
    assert "not yet loaded" not in row
