"""Pure helpers shared by the four clinical rules modules (enrollment, safety, dosing, efficacy).

A top-level package rather than a module under ``trialsite/``: importing anything under
``trialsite`` first runs ``trialsite/__init__.py``, which loads the Celery app (and, through it,
Django settings), while the rules modules must import no Django code (DESIGN.md §3). This package
imports only the standard library.
"""
