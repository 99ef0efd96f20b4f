from django.db import migrations


def create_products(apps, schema_editor):
    Product = apps.get_model("recovery", "Product")
    # Values of recovery-course.md; the generic course uses the same unless a clinic changes it.
    for code, name in [("bellafill", "Bellafill"), ("dermal-filler", "Dermal filler")]:
        Product.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "early_days": 3,
                "typical_days": 7,
                "expected_max_days": 14,
                "diary_days": 30,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]

    operations = [migrations.RunPython(create_products, migrations.RunPython.noop)]
