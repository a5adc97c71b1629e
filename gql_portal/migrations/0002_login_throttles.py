from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The password throttle was keyed by the plain email typed at login, which may be a
# password: its table is dropped (rows that live at most a lock window) and created again
# keyed by a keyed hash. Written by hand from makemigrations' output: an added primary key
# column cannot be ALTERed into a table on SQLite.


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginIpThrottle',
            fields=[
                ('ip', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=45)),
                ('failures', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_ip_throttles', 'app': 'models', 'pk_attr': 'ip'},
            bases=['Model'],
        ),
        ops.DeleteModel(name='LoginThrottle'),
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('failures', fields.IntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('refused', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'login_throttles', 'app': 'models', 'pk_attr': 'key'},
            bases=['Model'],
        ),
    ]
