from django.db import migrations


def fill_treatment_clinic(apps, schema_editor):
    Treatment = apps.get_model("recovery", "Treatment")
    for treatment in Treatment.objects.select_related("patient").iterator():
        treatment.clinic_id = treatment.patient.clinic_id
        treatment.save(update_fields=["clinic"])


class Migration(migrations.Migration):
    dependencies = [("recovery", "0003_alerts_triage")]

    operations = [migrations.RunPython(fill_treatment_clinic, migrations.RunPython.noop)]
