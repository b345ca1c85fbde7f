"""setupkit: from "I want to train models on this" to a verified ML stack."""

__version__ = "0.1.0"
