"""EC2 (Eucalyptus compute): regions, zones, images, instances, key pairs, security groups, tags."""

from eucalite.services.ec2 import zones  # noqa: F401  (registers operations)
