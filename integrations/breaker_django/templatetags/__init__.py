"""The template tag library of breaker_django: ``{% load breakers %}``.

Layer: integration. Imports breaker_core's declared interface only (breaker_core,
breaker_core.extension, .web, .ops).
"""
