"""``{% load usage_tags %}{% usage_summary subscription %}``: the usage-so-far partial for any screen."""
from django import template

register = template.Library()


@register.inclusion_tag("subscriptions/_usage_summary.html")
def usage_summary(subscription):
    from subscriptions.usage import usage_summary as build

    return {"summary": build(subscription=subscription)}
