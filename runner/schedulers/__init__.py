"""Schedulers: one narrow backend per kind of infrastructure (a command builder and a pure parser per
operation), the job wrapper they all run, and the context that makes one per infrastructure."""
