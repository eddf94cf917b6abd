"""Pieces shared by every FilterSet."""
import django_filters
from django import forms


class DateInput(forms.DateInput):
    input_type = "date"


def date_from(field_name: str, label: str = "From") -> django_filters.DateFilter:
    return django_filters.DateFilter(field_name=field_name, lookup_expr="gte", label=label, widget=DateInput)


def date_to(field_name: str, label: str = "To") -> django_filters.DateFilter:
    return django_filters.DateFilter(field_name=field_name, lookup_expr="lte", label=label, widget=DateInput)
