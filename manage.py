#!/usr/bin/env python
"""Django's command-line utility for trialsite.

Configuration and connection problems are reported as one clear line, not a traceback.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"trialsite: configuration error: {exc}")
    except Exception as exc:  # noqa: BLE001 - only database connection errors are reworded
        from django.db.utils import OperationalError

        if isinstance(exc, OperationalError):
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            sys.exit(f"trialsite: cannot reach the database (DATABASE_URL): {first_line}")
        raise


if __name__ == "__main__":
    main()
