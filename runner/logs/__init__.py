"""Application logs: classifying their lines with the application's filters, in the entry format
the monitor writes and the book reads."""
