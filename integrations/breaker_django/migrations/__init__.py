"""Migrations of breaker_django (the model that carries its permission).

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""
