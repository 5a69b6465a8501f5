"""Forms of the clients app: the workbook upload."""

from django import forms
from django.conf import settings

from clients.importer.reader import WorkbookError, check_xlsx


class WorkbookUploadForm(forms.Form):
    workbook = forms.FileField(
        label="Workbook (.xlsx)",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx", "class": "form-control"}),
    )

    def clean_workbook(self):
        upload = self.cleaned_data["workbook"]
        limit = settings.ATLAS_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes.")
        name = upload.name.lower()
        if name.endswith(".xlsm"):
            raise forms.ValidationError("Macro-enabled workbooks (.xlsm) are refused; save it as .xlsx.")
        data = upload.read()
        try:
            check_xlsx(data)  # by content, not only by name
        except WorkbookError as exc:
            raise forms.ValidationError(f"This file cannot be imported: {exc}.") from None
        if not name.endswith(".xlsx"):
            raise forms.ValidationError("Upload an .xlsx workbook.")
        self.cleaned_data["data"] = data
        return upload
