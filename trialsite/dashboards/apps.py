from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """The top floor: dashboards and recompute hooks that combine several apps."""

    name = "trialsite.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards across apps"

    def ready(self):
        """Each dashboard module registers its navigation entry and hooks here."""
        from trialsite import navigation
        from trialsite.dashboards import safety as safety_dashboard

        navigation.register(safety_dashboard.NAV_ITEM)

        from safety import sae_product
        from trialsite.dashboards.sae_product import infused_product

        sae_product.register_provider(infused_product)

        from trialsite.dashboards import efficacy_hook
        from trialsite.records import recompute

        recompute.register("endpoints")(efficacy_hook.endpoints_hook)
