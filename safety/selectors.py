"""Safety reads for other apps (dosing reads DLT inputs here, DESIGN.md §2).

Each area keeps its selectors in its own module; this module re-exports the public ones.
"""

from safety.selectors_labs import blood_counts

__all__ = ["blood_counts"]
