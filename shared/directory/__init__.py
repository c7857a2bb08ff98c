"""The subject-matter-expert directory: find Teams users by name, department and role."""
