"""Profiles and secrets: keyring, encrypted file, environment; log redaction.

This package imports nothing from the other okxbot layers.
"""
