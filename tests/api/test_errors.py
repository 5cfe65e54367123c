"""Every TetherError class has an HTTP status and a stable code; errors render one shape."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from api.errors import HTTP_STATUS, exit_code_for, http_status_for
from resolver.errors import TetherError

PACKAGES = ("resolver", "consent", "audiences", "api")


def _all_subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    sub: type
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


@pytest.fixture(scope="module")
def error_classes() -> set[type[TetherError]]:
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if ".migrations" not in info.name:
                importlib.import_module(info.name)
    return {TetherError} | _all_subclasses(TetherError)


def test_every_error_class_is_mapped(error_classes: set[type[TetherError]]) -> None:
    unmapped = sorted(c.__qualname__ for c in error_classes if c not in HTTP_STATUS)
    assert unmapped == []
    assert all(400 <= status < 600 for status in HTTP_STATUS.values())


def test_codes_are_stable_and_distinct(error_classes: set[type[TetherError]]) -> None:
    codes = [c.code for c in error_classes]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_the_most_specific_class_decides() -> None:
    from consent.errors import SubjectNotFound
    from resolver.errors import NoCurrentRunError

    assert http_status_for(SubjectNotFound("x")) == 404
    assert http_status_for(NoCurrentRunError("x")) == 503
    assert exit_code_for(SubjectNotFound("x")) == 2
