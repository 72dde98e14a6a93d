"""Migrations of breaker_django (the model that carries its permission)."""
