"""Watching jobs and classifying application logs."""
