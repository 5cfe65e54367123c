"""Consents: what each cookie, device and contact answered on the banner or in the preferences.

Most subjects answer the consent banner once for every purpose (linking
granted for about three in four, some other purposes refused); about 8 %
never answer, so the purpose defaults apply; a few later withdraw ad
targeting in the preference centre.
"""

from __future__ import annotations

from datetime import timedelta

from api.worlds.demo.chunk import Chunk
from consent.purposes import PURPOSES

__all__ = ["consent_rows"]


def consent_rows(c: Chunk, *, subject_type: str, subject_id: str) -> None:
    """The consent events of one subject (``cookie``, ``device`` or ``contact``)."""
    d = c.draws
    r = d.rng.random()
    if r < 0.08:
        return  # never answered the banner: purpose defaults apply
    linking = "granted" if r < 0.82 else "denied"
    when = d.timestamp(days_back=200)
    for purpose in PURPOSES:
        status = linking
        if purpose != "identity_linking" and linking == "granted" and d.chance(0.15):
            status = "denied"
        c.add(
            "consents",
            {
                "subject_type": subject_type,
                "subject_id": subject_id,
                "purpose": purpose,
                "status": status,
                "recorded_at": when,
                "source": "cmp",
                "evidence": "banner-v3",
                "expires_at": when + timedelta(days=395),
                "event_id": d.new_id("E"),
            },
        )
    if linking == "granted" and d.chance(0.05):
        c.add(
            "consents",
            {
                "subject_type": subject_type,
                "subject_id": subject_id,
                "purpose": "ad_targeting",
                "status": "withdrawn",
                "recorded_at": when + timedelta(days=int(d.rng.integers(1, 60))),
                "source": "preference_centre",
                "evidence": "prefs-v1",
                "expires_at": None,
                "event_id": d.new_id("E"),
            },
        )
