"""``python -m example_apps.demo.django_setup``: prepare the Django shop's database for the demo.

Applies the migrations to ``SHOP_DATABASE`` and creates the demo users
(alice, bob and the staff user admin; password ``breakerpanel``) when missing.
"""

from __future__ import annotations

import os


def main() -> None:
    """Migrate and create the demo users.

    Raises:
        django.core.exceptions.ImproperlyConfigured: the settings cannot be loaded.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_apps.django_shop.settings")
    import django  # type: ignore[import-untyped]
    from django.contrib.auth import get_user_model  # type: ignore[import-untyped]
    from django.core.management import call_command  # type: ignore[import-untyped]

    from example_apps.django_shop.__main__ import DEMO_PASSWORD, DEMO_USERS

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    users = get_user_model()
    for name, staff in DEMO_USERS:
        if not users.objects.filter(username=name).exists():
            users.objects.create_user(
                name, password=DEMO_PASSWORD, is_staff=staff, is_superuser=staff
            )


if __name__ == "__main__":
    main()
