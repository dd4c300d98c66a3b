"""The top floor's dashboards: pages that combine apps (DESIGN §2, docs/architecture.md §2).

Safety cannot import dosing and efficacy cannot import dosing, yet the DSMB reads both per dose
level. The pages that join an app's data to the subjects' dose levels therefore live here, one
module per dashboard; the apps keep their own selectors, which take the dose-level mapping as an
argument (``dosing.selectors.subject_dose_levels``) instead of importing dosing.
"""
