"""API: /api/subscriptions/, status moves, renewals, a tenant's prorated changes, plans and coupons."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import tenant_get
from billing_ops.access import MANAGE_SUBSCRIPTION, READ, WRITE, visible_tenants
from billing_ops.api.pagination import ResultsCursorPagination
from billing_ops.errors import NotFound, ValidationFailed
from subscriptions import selectors, services
from subscriptions.api.serializers import (
    ChangeSerializer,
    CouponSerializer,
    PlanCreateSerializer,
    PlanSerializer,
    RenewalSerializer,
    StatusSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
    preview_data,
)
from subscriptions.filters import CouponFilter, PlanFilter, SubscriptionFilter
from subscriptions.models import Coupon, Plan, Price, Subscription


def _get(model, pk, field: str):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(f"No {model._meta.verbose_name} with id {pk}.", fields={field: ["does not exist"]})
    return found


def _prices(ids, field: str) -> dict:
    found = Price.objects.in_bulk(list(ids))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationFailed(f"Unknown price ids: {', '.join(map(str, missing))}.", fields={field: ["does not exist"]})
    return found


def _coupon_by_code(code, field="coupon"):
    if not code:
        return None
    coupon = Coupon.objects.filter(code=code.strip().upper()).first()
    if coupon is None:
        raise ValidationFailed(f"No coupon {code!r}.", fields={field: ["does not exist"]})
    return coupon


def _subscription_detail(user, pk):
    return selectors.subscription_get(user=user, pk=pk)


class SubscriptionListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        return selectors.subscription_list(user=self.request.user).prefetch_related(selectors._items_prefetch()).order_by("-id")

    @extend_schema(request=SubscriptionCreateSerializer, responses={201: SubscriptionSerializer})
    def post(self, request):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = visible_tenants(request.user).filter(pk=data["tenant"]).first()
        if tenant is None:
            raise ValidationFailed(f"No tenant with id {data['tenant']}.", fields={"tenant": ["does not exist"]})
        plan = _get(Plan, data["plan"], "plan")
        prices = _prices([a["price"] for a in data["addons"]], "addons")
        sub = services.subscription_create(
            actor=request.user, tenant=tenant, plan=plan, quantity=data["quantity"],
            addons=[(prices[a["price"]], a["quantity"]) for a in data["addons"]],
            start_date=data.get("start_date"), trial_days=data.get("trial_days"),
            coupon=_coupon_by_code(data.get("coupon")), promo_code=data.get("promo_code") or None,
            auto_renew=data["auto_renew"], reason=data["reason"],
        )
        return Response(SubscriptionSerializer(_subscription_detail(request.user, sub.pk)).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailApi(APIView):
    capabilities = {"GET": READ, "PATCH": WRITE}

    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request, pk):
        return Response(SubscriptionSerializer(_subscription_detail(request.user, pk)).data)

    @extend_schema(request=SubscriptionUpdateSerializer, responses=SubscriptionSerializer)
    def patch(self, request, pk):
        sub = _subscription_detail(request.user, pk)
        serializer = SubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        cancel = data.pop("cancel_at_period_end", None)
        if "coupon" in data:
            data["coupon"] = _coupon_by_code(data["coupon"])
        if data:
            services.subscription_update(actor=request.user, subscription=sub, reason=reason, **data)
        if cancel is not None:
            services.subscription_cancel_at_period_end(actor=request.user, subscription=sub, cancel=cancel,
                                                       reason=reason or ("cancel at period end" if cancel else "keep renewing"))
        return Response(SubscriptionSerializer(_subscription_detail(request.user, pk)).data)


class SubscriptionStatusApi(APIView):
    """POST {"status": "suspended"|"canceled"|"active"|"paused"|"past_due"|"expired", "reason"}; 409 when not allowed."""

    capabilities = {"POST": WRITE}

    @extend_schema(request=StatusSerializer, responses=SubscriptionSerializer)
    def post(self, request, pk):
        sub = _subscription_detail(request.user, pk)
        serializer = StatusSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.subscription_set_status(actor=request.user, subscription=sub, **serializer.validated_data)
        return Response(SubscriptionSerializer(_subscription_detail(request.user, pk)).data)


class RenewalPagination(ResultsCursorPagination):
    ordering = ("current_period_end", "id")


class RenewalListApi(generics.GenericAPIView):
    capabilities = {"GET": READ}
    serializer_class = RenewalSerializer
    pagination_class = RenewalPagination
    queryset = Subscription.objects.none()  # for the schema; get() builds the real one

    @extend_schema(parameters=[OpenApiParameter("within_days", int, description="Window in days (default 30, at most 366)")],
                   responses=RenewalSerializer(many=True))
    def get(self, request):
        raw = request.query_params.get("within_days", "30")
        try:
            days = int(raw)
        except ValueError:
            days = -1
        if not 0 <= days <= 366:
            raise ValidationFailed("within_days must be a whole number from 0 to 366.", fields={"within_days": ["0..366"]})
        queryset = selectors.renewal_queryset(days=days, user=request.user)
        page = self.paginate_queryset(queryset)
        rows = selectors.renewals_for(page)
        return self.get_paginated_response(RenewalSerializer(rows, many=True).data)


class _TenantChangeApi(APIView):
    capabilities = {"POST": MANAGE_SUBSCRIPTION}

    def parse(self, request, pk):
        tenant = tenant_get(user=request.user, pk=pk)
        subscription = selectors.tenant_subscription(tenant=tenant)
        if subscription is None:
            raise NotFound(f"{tenant.name} has no subscription yet; create one first.", code="no_subscription")
        serializer = ChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        prices = _prices([i["price"] for i in data["items"]] + list(data["remove"]), "items")
        kwargs = dict(
            plan=_get(Plan, data.get("plan"), "plan"),
            items=[services.ItemChange(prices[i["price"]], i["quantity"]) for i in data["items"]],
            remove=[prices[pk] for pk in data["remove"]],
            change_date=data.get("change_date"),
        )
        return subscription, data, kwargs


class TenantSubscriptionPreviewApi(_TenantChangeApi):
    """The prorated lines a change would produce; nothing is written."""

    @extend_schema(request=ChangeSerializer, responses=dict)
    def post(self, request, pk):
        subscription, _, kwargs = self.parse(request, pk)
        preview = services.subscription_change_preview(actor=request.user, subscription=subscription, **kwargs)
        return Response(preview_data(preview))


class TenantSubscriptionItemsApi(_TenantChangeApi):
    """Apply a change (add/remove items, quantities, plan); the stored proration equals the preview."""

    @extend_schema(request=ChangeSerializer, responses={201: dict})
    def post(self, request, pk):
        subscription, data, kwargs = self.parse(request, pk)
        preview, rows = services.subscription_change_apply(
            actor=request.user, subscription=subscription, expected_total=data.get("expected_total"), reason=data["reason"], **kwargs)
        body = preview_data(preview, rows=rows)
        body["subscription_detail"] = SubscriptionSerializer(_subscription_detail(request.user, subscription.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class PlanListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = PlanSerializer
    filterset_class = PlanFilter

    def get_queryset(self):
        return selectors.plan_list().order_by("-id")

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer})
    def post(self, request):
        serializer = PlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        base_price = _get(Price, data.pop("base_price_id", None), "base_price_id")
        addons = list(_prices(data.pop("addon_prices"), "addon_prices").values())
        plan = services.plan_create(actor=request.user, base_price=base_price, base_amount=data.pop("base_price", None),
                                    addon_prices=addons, **data)
        return Response(PlanSerializer(selectors.plan_list().get(pk=plan.pk)).data, status=status.HTTP_201_CREATED)


class PlanDetailApi(generics.RetrieveAPIView):
    capabilities = {"GET": READ}
    serializer_class = PlanSerializer

    def get_queryset(self):
        return selectors.plan_list()


class CouponListCreateApi(generics.ListAPIView):
    capabilities = {"GET": READ, "POST": WRITE}
    serializer_class = CouponSerializer
    filterset_class = CouponFilter

    def get_queryset(self):
        return selectors.coupon_list().order_by("-id")

    @extend_schema(request=CouponSerializer, responses={201: CouponSerializer})
    def post(self, request):
        serializer = CouponSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {k: v for k, v in serializer.validated_data.items() if v is not None or k in ("percent_off", "amount_off")}
        coupon = services.coupon_create(actor=request.user, **data)
        return Response(CouponSerializer(coupon).data, status=status.HTTP_201_CREATED)
