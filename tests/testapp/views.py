"""A CRF built on the base form and view, the way every clinical CRF is (a few lines)."""

from django.shortcuts import get_object_or_404
from django.urls import reverse

from tests.testapp.models import VitalSigns
from trialsite.records import services
from trialsite.records.forms import CRFForm
from trialsite.records.views import CRFEditView, SignRecordView
from trialsite.studies.models import Site


class VitalSignsForm(CRFForm):
    class Meta(CRFForm.Meta):
        model = VitalSigns
        fields = ["subject_label", "weight_kg", "systolic_bp_mmhg", "note"]


class VitalSignsCreate(CRFEditView):
    form_class = VitalSignsForm
    title = "Vital signs"

    def get_study_and_site(self, record):
        site = get_object_or_404(Site, pk=self.kwargs["site_id"])
        return site.study, site

    def save(self, form, record, *, study, site):
        return services.create_record(
            VitalSigns,
            actor=self.request.user,
            study=study,
            values={**form.clinical_values(), "site": site},
        )

    def get_success_url(self, record):
        return reverse("vitals-edit", args=[record.pk])


class VitalSignsEdit(CRFEditView):
    form_class = VitalSignsForm
    title = "Vital signs"

    def get_record(self):
        return get_object_or_404(VitalSigns, pk=self.kwargs["pk"])

    def get_study_and_site(self, record):
        return record.study, record.site


class VitalSignsSign(SignRecordView):
    meaning = "I confirm these vital signs are complete and correct."

    def get_record(self):
        return get_object_or_404(VitalSigns, pk=self.kwargs["pk"])

    def get_study_and_site(self, record):
        return record.study, record.site
