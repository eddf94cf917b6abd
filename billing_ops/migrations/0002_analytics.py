"""Revenue analytics snapshots, and the usage-ingestion capability with its client group (issue 8)."""

import billing_ops.fields
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


def sync_roles_and_usage_client_group(apps, schema_editor):
    """Grant the new capability to the roles that hold every capability, and create the client group."""
    from accounts.roles import sync_role_groups
    from billing_ops.access import USAGE_CLIENT_CAPABILITIES, USAGE_CLIENT_GROUP

    sync_role_groups(apps)
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=USAGE_CLIENT_GROUP)
    codenames = [c.split(".", 1)[1] for c in USAGE_CLIENT_CAPABILITIES]
    group.permissions.set(Permission.objects.filter(content_type__app_label="billing", codename__in=codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_roles_and_audit_guard'),
        ('billing', '0001_initial'),
        ('subscriptions', '0001_initial'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='capability',
            options={'default_permissions': (), 'managed': False, 'permissions': [('read', 'See every billing screen and GET API'), ('write', 'Create, edit, send, record, remind, suspend, run'), ('approve', 'Approve credit notes and refunds'), ('manage_subscription', "Manage a tenant's subscription"), ('configure_payments', 'Configure Paystack keys and mode'), ('view_audit', 'See the audit log'), ('all_tenants', 'See every tenant (not only assigned ones)'), ('ingest_usage', 'Send usage events (machine clients)')]},
        ),
        migrations.CreateModel(
            name='RevenueMonthlySnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('currency', models.CharField(choices=[('NGN', 'NGN'), ('GHS', 'GHS'), ('ZAR', 'ZAR'), ('KES', 'KES'), ('USD', 'USD'), ('EUR', 'EUR')], max_length=3)),
                ('starting_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('new_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('expansion_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('contraction_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('churned_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('reactivation_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('net_new_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), help_text='May be negative', max_digits=18)),
                ('active_subscriptions', models.PositiveIntegerField(default=0)),
                ('starting_customers', models.PositiveIntegerField(default=0)),
                ('customers', models.PositiveIntegerField(default=0)),
                ('churned_customers', models.PositiveIntegerField(default=0)),
                ('arpu', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('logo_churn_rate', models.DecimalField(decimal_places=6, max_digits=9, null=True)),
                ('revenue_churn_rate', models.DecimalField(decimal_places=6, max_digits=9, null=True)),
                ('ltv', billing_ops.fields.MoneyField(decimal_places=2, default=None, max_digits=18, null=True)),
                ('invoiced', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('collected', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('failed_payments', models.PositiveIntegerField(default=0)),
                ('failed_amount', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('recovered_payments', models.PositiveIntegerField(default=0)),
                ('recovered_amount', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('computed_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['-month', 'currency'],
                'constraints': [models.UniqueConstraint(fields=('month', 'currency'), name='one_revenue_monthly_snapshot')],
            },
        ),
        migrations.CreateModel(
            name='RevenueDailySnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('currency', models.CharField(choices=[('NGN', 'NGN'), ('GHS', 'GHS'), ('ZAR', 'ZAR'), ('KES', 'KES'), ('USD', 'USD'), ('EUR', 'EUR')], max_length=3)),
                ('plan_name', models.CharField(blank=True, max_length=200)),
                ('mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('active_subscriptions', models.PositiveIntegerField(default=0)),
                ('new_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('expansion_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('contraction_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('churned_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('reactivation_mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('new_count', models.PositiveIntegerField(default=0)),
                ('churned_count', models.PositiveIntegerField(default=0)),
                ('reactivated_count', models.PositiveIntegerField(default=0)),
                ('computed_at', models.DateTimeField(auto_now=True)),
                ('plan', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='subscriptions.plan')),
            ],
            options={
                'ordering': ['-date', 'currency', 'plan_name'],
                'constraints': [models.UniqueConstraint(fields=('date', 'currency', 'plan'), name='one_revenue_daily_snapshot')],
            },
        ),
        migrations.CreateModel(
            name='SubscriptionMrrSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('currency', models.CharField(choices=[('NGN', 'NGN'), ('GHS', 'GHS'), ('ZAR', 'ZAR'), ('KES', 'KES'), ('USD', 'USD'), ('EUR', 'EUR')], max_length=3)),
                ('mrr', billing_ops.fields.MoneyField(decimal_places=2, default=Decimal('0.00'), max_digits=18)),
                ('first_paid_on', models.DateField(help_text='First day the subscription paid (end of trial)', null=True)),
                ('plan', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='subscriptions.plan')),
                ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='subscriptions.subscription')),
                ('tenant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.tenant')),
            ],
            options={
                'ordering': ['-date', 'subscription_id'],
                'indexes': [models.Index(fields=['date', 'currency'], name='mrr_snapshot_date_currency')],
                'constraints': [models.UniqueConstraint(fields=('date', 'subscription'), name='one_mrr_snapshot_per_day')],
            },
        ),
        migrations.RunPython(sync_roles_and_usage_client_group, migrations.RunPython.noop),
    ]
