"""``manage.py breakers``."""
