from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

# Issues 14 and 15 (provisioning, notifications): users get active/external_id/updated_at
# and their indexes, SCIM tokens, single-use account links, import rows of IMPORT_USERS
# jobs, the notification outbox, and the domain switch for optional messages.

class Migration(migrations.Migration):
    dependencies = [('models', '0003_bulk_job_request')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='account_links', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=20)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_links', 'app': 'models', 'indexes': [Index(fields=['user_id', 'purpose'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ImportRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.ForeignKeyField('models.BulkJob', source_field='job_id', db_constraint=True, to_field='id', related_name='import_rows', on_delete=OnDelete.CASCADE)),
                ('line', fields.IntField()),
                ('email', fields.CharField(max_length=320)),
                ('email_normalized', fields.CharField(max_length=320)),
                ('display_name', fields.CharField(default='', max_length=200)),
                ('roles', fields.CharField(default=',USER,', max_length=100)),
                ('outcome', fields.CharField(null=True, max_length=10)),
                ('error', fields.CharField(null=True, max_length=300)),
                ('user_id', fields.IntField(null=True)),
            ],
            options={'table': 'import_rows', 'app': 'models', 'unique_together': (('job', 'line'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain_id', fields.IntField()),
                ('user_id', fields.IntField(null=True)),
                ('recipient', fields.CharField(max_length=320)),
                ('kind', fields.CharField(max_length=40)),
                ('status', fields.CharField(default='QUEUED', max_length=10)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('params', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('job_id', fields.UUIDField(null=True)),
                ('dedupe_key', fields.CharField(null=True, unique=True, max_length=200)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at', 'id']), Index(fields=['domain_id', 'id']), Index(fields=['domain_id', 'user_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScimToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.ForeignKeyField('models.Domain', source_field='domain_id', db_constraint=True, to_field='id', related_name='scim_tokens', on_delete=OnDelete.CASCADE)),
                ('label', fields.CharField(max_length=100)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_by_email', fields.CharField(null=True, max_length=320)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scim_tokens', 'app': 'models', 'indexes': [Index(fields=['domain_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='BulkJob',
            name='created',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='BulkJob',
            name='updated',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='PasswordSecurityRules',
            name='optional_notifications_enabled',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='User',
            name='active',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='User',
            name='deactivated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='external_id',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='User',
            name='password_changed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='updated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['domain_id', 'active', 'id']),
        ),
        ops.AddIndex(
            model_name='User',
            index=Index(fields=['domain_id', 'external_id']),
        ),
    ]
