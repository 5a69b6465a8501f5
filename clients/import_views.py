"""The upload page (``/import/``): upload → dry run (background) → confirm → import (background).

Thin views over :mod:`clients.tasks` and :func:`clients.importer.import_workbook`; every view
is for Settlement Operations; mutations are POST-only with CSRF.
"""

from django.contrib import messages
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from atlas.roles import OPS, require_roles
from clients.forms import WorkbookUploadForm
from clients.importer.reader import sha256_hex
from clients.models import ImportBatch
from clients.tasks import read_progress, run_import, upload_path


@require_roles(OPS)
@require_http_methods(["GET", "POST"])
def upload(request):
    form = WorkbookUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["data"]
        sha = sha256_hex(data)
        path = upload_path(sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        batch = ImportBatch.objects.create(
            file_name=form.cleaned_data["workbook"].name[:255],
            sha256=sha,
            user=request.user,
            dry_run=True,
            file_size=len(data),
            phase="queued",
        )
        transaction.on_commit(lambda: run_import.enqueue(batch.pk, True))
        return redirect("imports:detail", pk=batch.pk)
    recent = ImportBatch.objects.select_related("user").order_by("-created_at")[:20]
    return render(request, "clients/import_upload.html", {"form": form, "recent": recent})


@require_roles(OPS)
@require_GET
def detail(request, pk):
    batch = get_object_or_404(ImportBatch.objects.select_related("user"), pk=pk)
    counts = (batch.summary or {}).get("counts", {})
    confirmed = (batch.summary or {}).get("confirmed_batch")
    finished = batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.FAILED)
    context = {
        "batch": batch,
        "counts": counts,
        "finished": finished,
        "can_confirm": batch.dry_run and batch.status == ImportBatch.Status.DONE and not confirmed,
        "confirmed": confirmed,
        "progress": read_progress(batch),
    }
    return render(request, "clients/import_detail.html", context)


@require_roles(OPS)
@require_GET
def status(request, pk):
    batch = get_object_or_404(ImportBatch, pk=pk)
    state = read_progress(batch)
    state["finished"] = batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.FAILED)
    state["errors"] = len(batch.errors or [])
    return JsonResponse(state)


@require_roles(OPS)
@require_POST
def confirm(request, pk):
    with transaction.atomic():
        dry = ImportBatch.objects.select_for_update().filter(pk=pk).first()
        if dry is None:
            raise Http404("No such import")
        summary = dict(dry.summary or {})
        if summary.get("confirmed_batch"):
            messages.info(request, "This workbook was already confirmed.")
            return redirect("imports:detail", pk=summary["confirmed_batch"])
        if not (dry.dry_run and dry.status == ImportBatch.Status.DONE):
            messages.error(request, "Only a dry run without errors can be confirmed.")
            return redirect("imports:detail", pk=dry.pk)
        if not upload_path(dry.sha256).exists():
            messages.error(request, "The uploaded file is gone; upload it again.")
            return redirect("imports:upload")
        batch = ImportBatch.objects.create(
            file_name=dry.file_name,
            sha256=dry.sha256,
            user=request.user,
            dry_run=False,
            file_size=dry.file_size,
            phase="queued",
        )
        summary["confirmed_batch"] = batch.pk
        dry.summary = summary
        dry.save(update_fields=["summary"])
        transaction.on_commit(lambda: run_import.enqueue(batch.pk, False))
    messages.success(request, f"Import of {batch.file_name} started.")
    return redirect("imports:detail", pk=batch.pk)
