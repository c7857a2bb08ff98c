"""HTTP plumbing shared by every blueprint: JSON in and out, errors mapped to statuses once."""
