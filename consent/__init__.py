"""Tether's consent package (see SPEC; built by a later issue)."""
