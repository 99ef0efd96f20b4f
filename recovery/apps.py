from django.apps import AppConfig
from django.db.models.signals import post_delete, pre_delete


class RecoveryConfig(AppConfig):
    name = "recovery"
    verbose_name = "Aftercare"

    def ready(self) -> None:
        from recovery import audit, triage
        from recovery.models import Patient, Treatment, User

        post_delete.connect(triage.treatment_deleted, sender=Treatment)
        pre_delete.connect(audit.patient_deleted, sender=Patient)
        pre_delete.connect(audit.user_deleted, sender=User)
