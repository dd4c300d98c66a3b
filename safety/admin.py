"""Safety admin: each area registers its models in its own module (AE: ``admin_ae``)."""

import safety.admin_ae  # noqa: F401
