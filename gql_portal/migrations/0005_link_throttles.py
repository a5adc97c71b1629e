from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Issue 15 (invitations, password reset): fixed-window counters of reset requests and bad
# link tokens (accounts/link_throttle.py).

class Migration(migrations.Migration):
    dependencies = [('models', '0004_provisioning_and_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LinkThrottle',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('count', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'link_throttles', 'app': 'models', 'pk_attr': 'key'},
            bases=['Model'],
        ),
    ]
