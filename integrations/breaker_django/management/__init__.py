"""Django management commands of breaker_django."""
