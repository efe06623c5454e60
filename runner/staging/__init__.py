"""Data in and out of runs: stage-in of datasets, collection of outputs and logs."""
