from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from patron.activities.api import InteractionViewSet, TaskViewSet
from patron.audit.api import AuditEntryViewSet
from patron.customers.api import ContactViewSet, CustomerViewSet
from patron.orders.api import OrderViewSet, ProductViewSet
from patron.sales.api import LeadViewSet, OpportunityViewSet, PipelineViewSet

app_name = "api"

router = DefaultRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("contacts", ContactViewSet, basename="contact")
router.register("leads", LeadViewSet, basename="lead")
router.register("opportunities", OpportunityViewSet, basename="opportunity")
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("tasks", TaskViewSet, basename="task")
router.register("audit", AuditEntryViewSet, basename="audit")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
