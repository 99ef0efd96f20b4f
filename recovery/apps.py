from django.apps import AppConfig
from django.db.models.signals import post_delete


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Aftercare"

    def ready(self) -> None:
        from recovery import triage
        from recovery.models import Treatment

        post_delete.connect(triage.treatment_deleted, sender=Treatment)
