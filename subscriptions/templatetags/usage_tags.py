"""``{% load usage_tags %}{% usage_summary subscription %}``: the usage-so-far partial for any screen."""
from django import template

register = template.Library()


@register.inclusion_tag("subscriptions/_usage_summary.html")
def usage_summary(subscription):
    from subscriptions.usage import usage_summary as build

    return {"summary": build(subscription=subscription)}


@register.inclusion_tag("subscriptions/_usage_section.html")
def usage_section(subscription):
    """A "Usage this period" card, or nothing when no active meter prices the subscription's currency."""
    from subscriptions.usage import usage_summary as build
    from subscriptions.usage_models import Meter

    if not Meter.objects.filter(active=True, currency=subscription.currency).exists():
        return {"summary": None}
    return {"summary": build(subscription=subscription)}
