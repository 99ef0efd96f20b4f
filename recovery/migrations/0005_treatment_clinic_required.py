import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("recovery", "0004_fill_treatment_clinic")]

    operations = [
        migrations.AlterField(
            model_name="treatment",
            name="clinic",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="treatments",
                to="recovery.clinic",
            ),
        ),
    ]
