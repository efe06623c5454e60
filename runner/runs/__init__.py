"""Runs: a run in progress (active.py), how it is created (create.py) and resumed after a crash
(resume.py), the earlier results a new run takes over (reused.py), its one lifecycle of legal
transitions (lifecycle.py), how mso decides a task ended (completion.py), and what a run would
submit without submitting (dryrun.py)."""
