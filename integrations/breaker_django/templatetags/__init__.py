"""The template tag library of breaker_django: ``{% load breakers %}``."""
