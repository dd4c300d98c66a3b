"""What the escalation dashboard and the safety-review packet show, in a fixed number of queries.

Everything about subjects comes from the stored ``EscalationState`` (one row, written by the
recompute hook), so the page costs the same at 1 and at 1,000 subjects: the state, the study's
data version, the dose levels, the signed decisions with their signatures and the free slots
of the latest one (docs/rules/escalation.md "The dashboard").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from dosing import services
from dosing.escalation import current_state
from dosing.models import CohortAssignment, DoseLevel, EscalationDecision, EscalationState
from trialsite import clock
from trialsite.charts import Chart, Series
from trialsite.records.models import RecordStatus, Signature
from trialsite.studies import permissions
from trialsite.studies.models import Study
from trialsite.studies.roles import Action

STATUS_LABELS = {
    "dlt": _("DLT"),
    "no_dlt": _("No DLT"),
    "pending": _("In the DLT window"),
    "not_evaluable": _("Not evaluable"),
}
STATUS_COLOURS = {
    "dlt": "#b2182b",
    "no_dlt": "#2166ac",
    "pending": "#f4a582",
    "not_evaluable": "#999999",
}


def _dl(level: int | None) -> str:
    if level is None:
        return "—"
    return "DL-1" if level == 0 else f"DL{level}"


@dataclass
class LevelRow:
    level: int
    label: str
    dose_cells_per_kg: float
    assigned: int = 0
    infused: int = 0
    evaluable: int = 0
    dlts: int = 0
    in_window: list = field(default_factory=list)


@dataclass
class Board:
    study: Study
    state: EscalationState | None
    data_version: int
    levels: list[LevelRow]
    subjects: list[dict]
    decisions: list[tuple[EscalationDecision, Signature | None]]
    open_decision: EscalationDecision | None
    free_slots: int

    @property
    def printed_at(self):
        return clock.now()

    @property
    def stale(self) -> bool:
        return self.state is None or self.state.data_version < self.data_version

    @property
    def in_window(self) -> list[dict]:
        return [s for s in self.subjects if s["status"] == "pending" and s["infused_on"]]

    def form_initial(self) -> dict:
        return {
            "state_data_version": self.state.data_version if self.state else None,
            "accepted": "yes",
        }

    def chart(self) -> Chart:
        """Subjects by dose level in enrollment order, one series per DLT status (points)."""
        labels = [f"{s['assigned_on']} {s['label']}" for s in self.subjects]
        series = [
            Series(
                str(STATUS_LABELS[key]),
                [s["dose_level"] if s["status"] == key else None for s in self.subjects],
                STATUS_COLOURS[key],
            )
            for key in STATUS_LABELS
        ]
        return Chart(
            chart_id="escalation-subjects",
            title=str(_("Subjects by dose level over time, by DLT status")),
            labels=labels,
            series=series,
            kind="line",
            x_title=str(_("Assigned on and subject")),
            y_title=str(_("Dose level")),
            extra_options={
                "showLine": False,
                "datasets": {"line": {"showLine": False, "pointRadius": 6}},
                "scales": {
                    "x": {"title": {"display": True, "text": str(_("Assigned on and subject"))}},
                    "y": {
                        "beginAtZero": True,
                        "ticks": {"stepSize": 1},
                        "title": {"display": True, "text": str(_("Dose level"))},
                    },
                },
            },
        )


def status(study) -> dict:
    """The dashboard's polling answer: 2 queries."""
    data_version = Study.objects.filter(pk=study.pk).values_list("data_version", flat=True).first()
    state = (
        EscalationState.objects.filter(study=study)
        .values("data_version", "computed_at", "sentence")
        .first()
    )
    return {
        "data_version": data_version,
        "state_data_version": state["data_version"] if state else None,
        "computed_at": state["computed_at"].isoformat() if state else None,
        "sentence": state["sentence"] if state else "",
        "stale": state is None or state["data_version"] < (data_version or 0),
    }


def _labels(user, study, subjects: list[dict]) -> list[dict]:
    """Subject IDs for those who read the subject's site, "Subject n" for everyone else."""
    allowed = permissions.site_ids(user, Action.VIEW_CLINICAL, study=study)
    rows = []
    for number, row in enumerate(subjects, 1):
        shown = allowed is None or row["site_id"] in allowed
        rows.append(
            {**row, "number": number, "label": row["subject"] if shown else f"Subject {number}"}
        )
    return rows


def _decisions(study) -> list[tuple[EscalationDecision, Signature | None]]:
    rows = list(
        EscalationDecision.objects.filter(study=study, status=RecordStatus.SIGNED)
        .select_related("dose_level", "created_by")
        .order_by("-pk")
    )
    content_type = ContentType.objects.get_for_model(EscalationDecision)
    signatures = {
        int(s.object_id): s
        for s in Signature.objects.filter(
            content_type=content_type, object_id__in=[str(d.pk) for d in rows]
        )
    }
    return [(d, signatures.get(d.pk)) for d in rows]


def dashboard(study, user) -> Board:
    """The dashboard's data: a fixed number of queries whatever the number of subjects."""
    state = current_state(study)
    data_version = Study.objects.filter(pk=study.pk).values_list("data_version", flat=True).first()
    subjects = _labels(user, study, list(state.subjects) if state else [])
    levels = {
        lv.level: LevelRow(lv.level, lv.label, lv.dose_cells_per_kg)
        for lv in DoseLevel.objects.filter(study=study, is_active=True).order_by("level")
    }
    tallies = {t["dose_level"]: t for t in (state.levels if state else [])}
    assigned = Counter(s["dose_level"] for s in subjects)
    infused = Counter(s["dose_level"] for s in subjects if s["infused_on"])
    for number, row in levels.items():
        row.assigned = assigned[number]
        row.infused = infused[number]
        tally = tallies.get(number)
        if tally:
            row.evaluable, row.dlts = tally["evaluable"], tally["dlts"]
        row.in_window = [
            s
            for s in subjects
            if s["dose_level"] == number and s["status"] == "pending" and s["infused_on"]
        ]
    decision = services.latest_decision(study)
    free = 0
    if decision is not None and decision.action == "enroll":
        taken = CohortAssignment.objects.filter(decision=decision, is_active=True).count()
        free = max(0, decision.open_slots - taken)
    return Board(
        study=study,
        state=state,
        data_version=data_version or 0,
        levels=list(levels.values()),
        subjects=subjects,
        decisions=_decisions(study),
        open_decision=decision,
        free_slots=free,
    )
