"""Shared test settings."""

from hypothesis import settings

# These machines are shared and noisy: a property test's examples are judged by what they
# prove, not by how long one of them took while another process had the core.
settings.register_profile("forecourt", deadline=None)
settings.load_profile("forecourt")
