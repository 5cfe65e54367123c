"""Tether's audiences package (see SPEC; built by a later issue)."""
