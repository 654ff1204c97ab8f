"""STS: caller identity, sessions and role assumption."""

from eucalite.services.sts import identity  # noqa: F401  (registers operations)
