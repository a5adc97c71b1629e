from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A bulk job keeps where the request that started it came from: the events its runner
# writes later (per user, finished, failed) carry that ip, user agent and request id.


class Migration(migrations.Migration):
    dependencies = [('models', '0002_login_throttles')]

    initial = False

    operations = [
        ops.AddField(
            model_name='BulkJob',
            name='request_ip',
            field=fields.CharField(null=True, max_length=45),
        ),
        ops.AddField(
            model_name='BulkJob',
            name='request_user_agent',
            field=fields.CharField(null=True, max_length=400),
        ),
        ops.AddField(
            model_name='BulkJob',
            name='request_id',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
