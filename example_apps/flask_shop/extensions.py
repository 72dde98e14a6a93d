"""The shop's extension objects, created once and bound to the app in ``create_app``."""

from __future__ import annotations

from breaker_flask import Breakers

breakers = Breakers()
