"""The registry endpoints of a study, per dose level and overall, from its subjects' courses.

Pure arithmetic over the data contract (``efficacy.course``): no database, no Django model. The
recompute hook (``trialsite.dashboards.efficacy_hook``) loads the inputs, passes the dose-level
groups it may read (efficacy may not import dosing, DESIGN §2) and stores what this returns as
``EndpointSnapshot`` rows; the dashboard and the API only show those values (issue #13
Requirement 3: "statistics from the rules module only").

Every number comes from ``efficacy.rules`` with the study's efficacy settings (RULES.md §1, §6):
rates with exact CIs (``response_rates``), best response (``best_overall_response``), blast
decline (``blast_decline`` / ``median_blast_decline``), OS/EFS/RFS/DOR per subject and their
Kaplan–Meier estimates (``kaplan_meier``), CAR-T kinetics (``kinetics``) and the exploratory
Spearman correlations (``spearman``). Values are plain JSON (floats, ints, text, None); the
per-subject rows carry study days, not dates, so the same snapshot can be shown de-identified.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from efficacy.course import SubjectEfficacy
from efficacy.rules import (
    DAYS_PER_MONTH,
    RATE_MONTHS,
    RESPONSE_CATEGORIES,
    SurvivalEstimate,
    best_overall_response,
    blast_decline,
    duration_of_response,
    event_free_survival,
    kaplan_meier,
    kinetics,
    median_blast_decline,
    overall_survival,
    relapse_free_survival,
    response_rates,
    settings_for,
    spearman,
    validate_settings,
)

#: The group of every infused subject, beside the dose-level keys ("DL1", …).
ALL = "all"

#: The endpoints stored per group, in the order the dashboard shows them.
ENDPOINTS: tuple[str, ...] = (
    "response_rates",
    "best_response",
    "blast_decline",
    "os",
    "efs",
    "rfs",
    "dor",
    "swimmer",
    "kinetics",
    "correlations",
)

#: Months at which the KM tables give the number at risk (under the curve, as in publications).
AT_RISK_MONTHS: tuple[int, ...] = (0, 3, 6, 9, 12, 18, 24)

_TTE: dict[str, Callable[..., Any]] = {
    "os": overall_survival,
    "efs": event_free_survival,
    "rfs": relapse_free_survival,
    "dor": duration_of_response,
}

#: The CAR-T analyte the exploratory correlation uses: transgene copies in blood by qPCR, the
#: primary kinetics measure of the protocol (RULES.md §6.3).
PRIMARY_ANALYTE = ("qpcr", "blood")


def study_efficacy_settings(study) -> dict[str, object]:
    """The study's complete, checked efficacy settings (RULES.md §8 defaults for any not stored).

    The ``efficacy`` section is registered by ``EfficacyConfig.ready`` from
    ``efficacy.rules.settings``; a study stored before it existed, or with it empty, gets the
    rules' defaults (``validate_settings`` fills them).
    """
    stored = (getattr(study, "settings", None) or {}).get("efficacy") or {}
    return validate_settings(stored)


def _rate(rate) -> dict:
    return {
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "rate": rate.rate,
        "ci_lower": rate.ci_lower,
        "ci_upper": rate.ci_upper,
    }


def _rates(subjects: Sequence[SubjectEfficacy], settings: Mapping) -> dict:
    rows = response_rates(
        [s.responses_by_month() for s in subjects],
        mrd=[s.mrd_by_month() for s in subjects],
        **settings_for(response_rates, settings),
    )
    return {
        "n": len(subjects),
        "rate_basis": settings["rate_basis"],
        "rate_denominator": settings["rate_denominator"],
        "months": [
            {"month": r.month, **{name: _rate(v) for name, v in r.as_dict().items()}} for r in rows
        ],
    }


def _subject_best(s: SubjectEfficacy) -> dict:
    bor = best_overall_response(s.responses_by_month(), s.mrd_by_month())
    return {
        "subject_id": s.subject_id,
        "label": s.label,
        "category": bor.category,
        "mrd_negative": bor.mrd_negative,
        "month": bor.month,
    }


def _best_response(rows: list[dict]) -> dict:
    counts = dict.fromkeys(RESPONSE_CATEGORIES, 0)
    counts["not_assessed"] = 0
    for row in rows:
        counts[row["category"] or "not_assessed"] += 1
    return {
        "n": len(rows),
        "distribution": counts,
        "mrd_negative_cr_family": sum(row["mrd_negative"] for row in rows),
        "subjects": rows,
    }


def _subject_waterfall(s: SubjectEfficacy, method: str) -> dict:
    """The subject's largest decline from baseline at any response month (waterfall bar)."""
    best = None
    for r in s.responses:
        if r.month is None:
            continue
        value = blast_decline(s.baseline_marrow_blast_pct, r.marrow_blast_pct, method=method)
        if value is not None and (best is None or value > best[0]):
            best = (value, r.month)
    return {
        "subject_id": s.subject_id,
        "label": s.label,
        "baseline_pct": _num(s.baseline_marrow_blast_pct),
        "best_decline": best[0] if best else None,
        "month": best[1] if best else None,
    }


def _blast_decline(
    subjects: Sequence[SubjectEfficacy], settings: Mapping, prepared: Mapping[int, dict]
) -> dict:
    """Median decline per response month, and each subject's best decline for the waterfall."""
    method = settings["blast_decline"]
    by_month = {}
    for month in RATE_MONTHS:
        pairs = [
            prepared[s.subject_id]["blasts"][month]
            for s in subjects
            if month in prepared[s.subject_id]["blasts"]
        ]
        summary = median_blast_decline(pairs, method=method)
        by_month[str(month)] = {
            "n": summary.n,
            "median": summary.median,
            "minimum": summary.minimum,
            "maximum": summary.maximum,
            "excluded_zero_baseline": summary.excluded_zero_baseline,
        }
    waterfall = [prepared[s.subject_id]["waterfall"] for s in subjects]
    # Largest decline first; subjects without a calculable decline at the end.
    waterfall.sort(key=lambda w: (w["best_decline"] is None, -(w["best_decline"] or 0)))
    return {"method": method, "by_month": by_month, "waterfall": waterfall}


def _num(value) -> float | None:
    return None if value is None else float(value)


def _subject_tte(s: SubjectEfficacy, kwargs: Mapping[str, dict]) -> dict[str, dict | None]:
    """One subject's (start day, days, event, reason) for each TTE endpoint (None: not a
    responder, for RFS/DOR); computed once per subject whatever the number of groups."""
    out: dict[str, dict | None] = {}
    for name, fn in _TTE.items():
        try:
            tte = fn(s.course, **kwargs[name])
        except ValueError as exc:
            raise ValueError(f"{name.upper()} of subject {s.label}: {exc}") from exc
        out[name] = (
            None
            if tte is None
            else {
                "subject_id": s.subject_id,
                "label": s.label,
                "start_day": (tte.start - s.day0).days,
                "days": tte.duration_days,
                "event": tte.event,
                "reason": tte.reason,
            }
        )
    return out


def _km(rows: list[dict], settings: Mapping) -> dict:
    out: dict[str, Any] = {"unit": "days", "n": len(rows), "n_events": 0}
    if not rows:
        return {
            **out,
            "steps": [],
            "censor_times": [],
            "at_risk": [],
            "median": None,
            "median_ci_lower": None,
            "median_ci_upper": None,
            "median_months": None,
        }
    km: SurvivalEstimate = kaplan_meier(
        [r["days"] for r in rows],
        [r["event"] for r in rows],
        **settings_for(kaplan_meier, settings),
    )
    days = [r["days"] for r in rows]
    at_risk = []
    for month in AT_RISK_MONTHS:
        t = month * DAYS_PER_MONTH
        at_risk.append({"month": month, "day": t, "at_risk": sum(d >= t for d in days)})
    return {
        **out,
        "n_events": km.n_events,
        "km_ci": km.km_ci,
        "median_rule": km.median_rule,
        "steps": [
            {
                "time": r.time,
                "at_risk": r.at_risk,
                "events": r.events,
                "survival": r.survival,
                "ci_lower": r.ci_lower,
                "ci_upper": r.ci_upper,
            }
            for r in km.table
        ],
        "censor_times": list(km.censor_times),
        "at_risk": at_risk,
        "median": km.median,
        "median_ci_lower": km.median_ci[0],
        "median_ci_upper": km.median_ci[1],
        "median_months": None if km.median is None else km.median / DAYS_PER_MONTH,
        "max_time": km.max_time,
    }


def _day(s: SubjectEfficacy, d) -> int | None:
    return None if d is None else (d - s.day0).days


def _subject_swimmer(s: SubjectEfficacy) -> dict:
    """Follow-up length and the dated course as study days (de-identified)."""
    c = s.course
    end = c.death_date or c.last_alive()
    return {
        "subject_id": s.subject_id,
        "label": s.label,
        "follow_up_days": (end - s.day0).days,
        # The category of record with the computed one and its source, so an investigator's
        # override shows on the dashboard beside what the rules said (issue #13).
        "responses": [
            {
                "day": r.study_day,
                "month": r.month,
                "category": r.category,
                "computed": r.computed_category,
                "source": r.source,
            }
            for r in s.responses
        ],
        "relapse_day": _day(s, c.relapse_date),
        "progression_day": _day(s, c.progression_date),
        "hsct_day": _day(s, c.hsct_date),
        "new_therapy_day": _day(s, c.new_therapy_date),
        "death_day": _day(s, c.death_date),
        "alive": c.death_date is None,
    }


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def _subject_blasts(s: SubjectEfficacy) -> dict[int, tuple]:
    """Response month → (baseline %, marrow blasts % of the month's last assessment)."""
    return {
        r.month: (s.baseline_marrow_blast_pct, r.marrow_blast_pct)
        for r in s.responses
        if r.month is not None and r.marrow_blast_pct is not None
    }


def _subject_kinetics(s: SubjectEfficacy, kwargs: Mapping) -> dict[tuple[str, str], dict]:
    series: dict[tuple[str, str], dict] = {}
    for p in s.kinetics:
        if p.study_day < 0:
            continue  # a pre-infusion baseline level is not part of the profile (Day 0 = 0)
        entry = series.setdefault((p.method, p.compartment), {"unit": p.unit, "points": []})
        entry["points"].append((p.study_day, p.value))
    out = {}
    for analyte, entry in series.items():
        try:
            k = kinetics(entry["points"], **kwargs)
        except ValueError as exc:
            raise ValueError(f"kinetics of subject {s.label} ({'/'.join(analyte)}): {exc}") from exc
        out[analyte] = {
            "subject_id": s.subject_id,
            "label": s.label,
            "unit": entry["unit"],
            "cmax": k.cmax,
            "tmax": k.tmax,
            "auc_0_28": k.auc,
            "tlast": k.tlast,
            "clast": k.clast,
            "points": [{"day": d, "value": v} for d, v in sorted(entry["points"])],
        }
    return out


def _kinetics(
    subjects: Sequence[SubjectEfficacy], per_subject: Mapping[int, dict[tuple[str, str], dict]]
) -> dict:
    analytes: dict[str, list[dict]] = {}
    for s in subjects:
        for (method, compartment), row in per_subject[s.subject_id].items():
            analytes.setdefault(f"{method}/{compartment}", []).append(row)
    return {
        name: {
            "unit": rows[0]["unit"],
            "n": len(rows),
            "median_cmax": _median([r["cmax"] for r in rows]),
            "median_tmax": _median([r["tmax"] for r in rows]),
            "median_auc_0_28": _median([r["auc_0_28"] for r in rows]),
            "median_tlast": _median([r["tlast"] for r in rows]),
            "subjects": rows,
        }
        for name, rows in sorted(analytes.items())
    }


def _correlation(x: list, y: list, subjects: Sequence[SubjectEfficacy]) -> dict:
    """Spearman of ``x`` against ``y`` (one value per subject, None: not measured) with the
    complete pairs it was computed from, so the dashboard's scatter shows exactly those points
    (each labelled by the subject row keys the de-identification relabels, as the swimmer's)."""
    points = [
        {"subject_id": s.subject_id, "label": s.label, "x": a, "y": b}
        for s, a, b in zip(subjects, x, y, strict=True)
        if a is not None and b is not None
    ]
    n = len(points)
    if n < 3:
        return {
            "n": n,
            "rho": None,
            "p_value": None,
            "note": "fewer than 3 subjects with both",
            "points": points,
        }
    rho, p = spearman(x, y)
    return {
        "n": n,
        "rho": rho,
        "p_value": p,
        "note": None if rho is not None else "constant",
        "points": points,
    }


def _correlations(
    subjects: Sequence[SubjectEfficacy], per_subject: Mapping[int, dict[tuple[str, str], dict]]
) -> dict:
    """Exploratory Spearman (RULES.md §6.4): peak IL-6 and CAR-T Cmax against the worst CRS and
    ICANS grade; a subject without an episode has grade 0 ("no CRS")."""
    il6 = [s.peak_il6 for s in subjects]
    cmax = [per_subject[s.subject_id].get(PRIMARY_ANALYTE, {}).get("cmax") for s in subjects]
    crs = [s.max_crs_grade or 0 for s in subjects]
    icans = [s.max_icans_grade or 0 for s in subjects]
    return {
        "cmax_analyte": "/".join(PRIMARY_ANALYTE),
        "il6_vs_crs": _correlation(il6, crs, subjects),
        "il6_vs_icans": _correlation(il6, icans, subjects),
        "cmax_vs_crs": _correlation(cmax, crs, subjects),
        "cmax_vs_icans": _correlation(cmax, icans, subjects),
    }


def _prepare(s: SubjectEfficacy, settings: Mapping, kwargs: Mapping[str, dict]) -> dict:
    """Everything per subject, computed once whatever the number of groups it is shown in."""
    return {
        "best": _subject_best(s),
        "blasts": _subject_blasts(s),
        "waterfall": _subject_waterfall(s, settings["blast_decline"]),
        "tte": _subject_tte(s, kwargs),
        "swimmer": _subject_swimmer(s),
        "kinetics": _subject_kinetics(s, kwargs["kinetics"]),
    }


def _group_values(
    subjects: Sequence[SubjectEfficacy], settings: Mapping, prepared: Mapping[int, dict]
) -> dict[str, dict]:
    mine = [prepared[s.subject_id] for s in subjects]
    values: dict[str, dict] = {
        "response_rates": _rates(subjects, settings),
        "best_response": _best_response([p["best"] for p in mine]),
        "blast_decline": _blast_decline(subjects, settings, prepared),
    }
    for name in _TTE:
        rows = [p["tte"][name] for p in mine if p["tte"][name] is not None]
        values[name] = {**_km(rows, settings), "subjects": rows}
    values["swimmer"] = {"n": len(subjects), "subjects": [p["swimmer"] for p in mine]}
    kinetics_by_subject = {s.subject_id: prepared[s.subject_id]["kinetics"] for s in subjects}
    values["kinetics"] = {
        "n": len(subjects),
        "analytes": _kinetics(subjects, kinetics_by_subject),
    }
    values["correlations"] = {
        "n": len(subjects),
        **_correlations(subjects, kinetics_by_subject),
    }
    return values


def compute_endpoints(
    subjects: Sequence[SubjectEfficacy],
    groups: Mapping[int, str],
    settings: Mapping[str, object] | None = None,
) -> dict[tuple[str, str], dict]:
    """Every endpoint of every group: ``{(group, endpoint): values}``.

    ``groups`` maps subject id → dose-level key ("DL1", …); the groups are those keys plus
    ``"all"`` (every subject given, also those without a dose level). ``settings``: the study's
    efficacy settings (``study_efficacy_settings``); missing keys take the RULES.md defaults.
    A group whose subjects are all gone still gets its values (n = 0, no estimate) only if it
    appears in ``groups``. An impossible course raises ValueError naming the subject.
    """
    checked = validate_settings(dict(settings or {}))
    ordered = sorted(subjects, key=lambda s: s.subject_id)
    # Each rule's keyword arguments from the settings, once per study rather than per subject.
    kwargs = {name: settings_for(fn, checked) for name, fn in _TTE.items()}
    kwargs["kinetics"] = settings_for(kinetics, checked)
    prepared = {s.subject_id: _prepare(s, checked, kwargs) for s in ordered}
    members: dict[str, list[SubjectEfficacy]] = {ALL: ordered}
    for key in sorted(set(groups.values())):
        members[key] = []
    for s in ordered:
        key = groups.get(s.subject_id)
        if key is not None:
            members[key].append(s)
    out: dict[tuple[str, str], dict] = {}
    for group, group_subjects in members.items():
        for endpoint, values in _group_values(group_subjects, checked, prepared).items():
            out[(group, endpoint)] = values
    return out
