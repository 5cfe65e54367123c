"""Shared vocabularies are declared once, in the lowest layer that uses them (issue #13).

Subject types, consent statuses and identifier kinds are declared in
``resolver.vocabulary``, the purposes in ``consent.purposes``. Every other
module imports them; these tests fail when a second copy of one appears in
the packages, or when the HTTP schema stops listing the domain's values.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from consent.purposes import DEFAULT_POLICY, PURPOSES
from resolver.vocabulary import CONSENT_STATUSES, IDENTIFIER_KINDS, SUBJECT_TYPES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("resolver", "consent", "audiences", "api")

#: Vocabulary -> (its values, the one module allowed to spell them all out).
VOCABULARIES: dict[str, tuple[tuple[str, ...], str]] = {
    "subject types": (SUBJECT_TYPES, "resolver/vocabulary.py"),
    "consent statuses": (CONSENT_STATUSES, "resolver/vocabulary.py"),
    "identifier kinds": (IDENTIFIER_KINDS, "resolver/vocabulary.py"),
    "purposes": (PURPOSES, "consent/purposes.py"),
}


def _string_collections(tree: ast.AST) -> Iterator[tuple[int, frozenset[str]]]:
    """(line, the strings) of every literal tuple, list and set, ``Literal[...]`` included.

    Dicts keyed by a vocabulary (a value per status, per purpose) are tables
    about it, not copies of it; ``test_tables_keyed_by_a_vocabulary_cover_it``
    checks the shared ones.
    """
    for node in ast.walk(tree):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            continue
        items = node.elts
        strings = [
            i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
        ]
        if items and len(strings) == len(items):
            yield node.lineno, frozenset(strings)


def copies_of(values: tuple[str, ...], sources: dict[str, str]) -> list[str]:
    """``path:line`` of each literal collection that spells out exactly ``values``."""
    wanted = frozenset(values)
    found = []
    for path, text in sorted(sources.items()):
        for line, strings in _string_collections(ast.parse(text)):
            if strings == wanted:
                found.append(f"{path}:{line}")
    return found


def _package_sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_each_vocabulary_is_spelled_out_in_one_module_only(name: str) -> None:
    values, home = VOCABULARIES[name]
    places = copies_of(values, _package_sources())
    assert {p.rpartition(":")[0] for p in places} == {home}, places


def test_a_second_copy_is_found() -> None:
    """The checker itself: a restated tuple, a frozenset or a ``Literal`` is a copy."""
    sources = {
        "a.py": 'X = frozenset({"granted", "denied", "withdrawn"})\n',
        "b.py": 'from typing import Literal\nY = Literal["granted", "denied", "withdrawn"]\n',
        "c.py": 'Z = ("granted", "denied")\n',  # a subset is not a copy
    }
    assert copies_of(CONSENT_STATUSES, sources) == ["a.py:1", "b.py:2"]


def test_tables_keyed_by_a_vocabulary_cover_it() -> None:
    from consent.effective import _SEVERITY
    from resolver.edges import _VALUE_COLUMN

    assert DEFAULT_POLICY.purposes == PURPOSES
    assert tuple(_SEVERITY) == CONSENT_STATUSES
    assert tuple(_VALUE_COLUMN) == IDENTIFIER_KINDS


def test_the_importers_use_the_declared_objects() -> None:
    import consent.ledger
    import resolver.identify
    import resolver.options
    import resolver.suppression

    assert consent.ledger.SUBJECT_TYPES is SUBJECT_TYPES
    assert resolver.options.IDENTIFIER_KINDS is IDENTIFIER_KINDS
    assert resolver.identify.EXACT_KEYS is IDENTIFIER_KINDS
    assert resolver.suppression.IDENTIFIER_COLUMNS == (*IDENTIFIER_KINDS, "national_id")


def test_the_openapi_document_lists_the_domain_values(tmp_path: Path) -> None:
    """Pydantic reads the enums from the domain's ``Literal``s: the OpenAPI document shows them."""
    from api.http.app import create_app
    from api.settings import ApiSettings

    app = create_app(
        ApiSettings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'tether.db'}", watch=False)
    )
    document = app.openapi()
    event = document["components"]["schemas"]["ConsentEventCreate"]["properties"]
    assert event["subject_type"]["enum"] == list(SUBJECT_TYPES)
    assert event["status"]["enum"] == list(CONSENT_STATUSES)
    lookup = document["paths"]["/v1/consents/{subject_type}/{subject_id}"]["get"]
    (parameter,) = [p for p in lookup["parameters"] if p["name"] == "subject_type"]
    assert parameter["schema"]["enum"] == [*SUBJECT_TYPES, "person"]
