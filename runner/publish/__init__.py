"""Results back to git (gitpush: commit and push, race-safe) and to GitLab (gitlab: the one
module that talks to its API; notify and report: the merge-request note, commit statuses, JUnit)."""
