"""mso: a GitOps experiment runner for scientific computing."""

__version__ = "0.1.0"
