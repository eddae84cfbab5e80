"""Scoring predicted structures and RSA against references (definitions in evaluation.md)."""
