"""IAM (Euare): accounts, users, keys, groups, roles, instance profiles, policies."""

from eucalite.services.iam import access_keys, accounts, users  # noqa: F401  (registers operations)
