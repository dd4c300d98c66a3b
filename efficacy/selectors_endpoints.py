"""The stored endpoints of a study for the dashboard and the API (1 query, any number of groups).

Reads only ``EndpointSnapshot`` rows (docs/architecture.md §13.3): the numbers are the ones the
``endpoints`` recompute hook stored, never recomputed on a page (issue #13 Requirement 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from efficacy.models import EndpointSnapshot


@dataclass(frozen=True)
class StoredEndpoints:
    """A study's snapshots by ``(group, endpoint)``.

    ``data_version``: the newest data version among them (None when nothing is stored yet);
    ``stale``: the pairs stored from an older data version than that (a run failed on them, or
    it has not reached them yet), so a page can say so instead of mixing versions silently.
    """

    values: dict[tuple[str, str], dict] = field(default_factory=dict)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    data_version: int | None = None
    computed_at: dt.datetime | None = None

    @property
    def groups(self) -> list[str]:
        """ "all" first, then the dose levels in their order (DL1, DL2, …, DL10)."""
        found = {g for g, _ in self.values}
        rest = sorted(found - {"all"}, key=lambda g: (len(g), g))
        return (["all"] if "all" in found else []) + rest

    @property
    def stale(self) -> list[tuple[str, str]]:
        return sorted(k for k, v in self.versions.items() if v != self.data_version)

    def get(self, group: str, endpoint: str) -> dict | None:
        return self.values.get((group, endpoint))


def endpoint_snapshots(study) -> StoredEndpoints:
    """Every stored endpoint snapshot of ``study`` (1 query)."""
    rows = EndpointSnapshot.objects.filter(study=study).values_list(
        "group", "endpoint", "values", "data_version", "computed_at"
    )
    values, versions = {}, {}
    newest, computed_at = None, None
    for group, endpoint, stored, version, when in rows:
        values[(group, endpoint)] = stored
        versions[(group, endpoint)] = version
        if newest is None or version > newest:
            newest, computed_at = version, when
    return StoredEndpoints(values, versions, newest, computed_at)
