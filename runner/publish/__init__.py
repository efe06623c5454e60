"""Results back to git (commit and push, race-safe) and, later, GitLab notes and statuses."""
