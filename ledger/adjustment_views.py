"""Manual adjustments and write-offs: request (ops/credit), approve or reject (another credit)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from atlas.roles import ALL, CREDIT, OPS, has_role, require_roles
from ledger import adjustments
from ledger.forms import AdjustmentRequestForm, DecisionForm, WriteOffRequestForm
from ledger.models import AdjustmentRequest


@require_roles(*ALL)
def adjustment_list(request):
    """Everyone reads; the POST actions check their roles in the services (403 otherwise)."""
    adjustment_form = AdjustmentRequestForm(prefix="adj")
    write_off_form = WriteOffRequestForm(prefix="wo")
    if request.method == "POST":
        kind = request.POST.get("kind")
        try:
            if kind == "adjustment":
                adjustment_form = AdjustmentRequestForm(request.POST, prefix="adj")
                if adjustment_form.is_valid():
                    d = adjustment_form.cleaned_data
                    adjustments.request_adjustment(
                        client=d["client"], amount=d["amount"], date=d["date"], reason=d["reason"], actor=request.user
                    )
                    messages.success(request, "Adjustment requested: a second Credit Manager must approve it.")
                    return redirect("ledger:adjustments")
            elif kind == "write_off":
                write_off_form = WriteOffRequestForm(request.POST, prefix="wo")
                if write_off_form.is_valid():
                    d = write_off_form.cleaned_data
                    adjustments.request_write_off(
                        receivable=d["receivable"],
                        amount=d["amount"],
                        date=d["date"],
                        reason=d["reason"],
                        actor=request.user,
                    )
                    messages.success(request, "Write-off requested: a second Credit Manager must approve it.")
                    return redirect("ledger:adjustments")
        except adjustments.AdjustmentError as exc:
            messages.error(request, exc.message)
    requests = AdjustmentRequest.objects.select_related("client", "receivable", "requested_by", "decided_by", "entry")[
        :200
    ]
    return render(
        request,
        "ledger/adjustments.html",
        {
            "requests": requests,
            "adjustment_form": adjustment_form,
            "write_off_form": write_off_form,
            "can_request_adjustment": has_role(request.user, OPS, CREDIT),
            "can_request_write_off": has_role(request.user, CREDIT),
            "can_decide": has_role(request.user, CREDIT),
        },
    )


@require_roles(CREDIT)
@require_POST
def adjustment_decide(request, pk):
    req = get_object_or_404(AdjustmentRequest, pk=pk)
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        if request.POST.get("decision") == "approve":
            adjustments.approve_request(request=req, actor=request.user)
            messages.success(request, f"Approved and booked: {req}.")
        else:
            adjustments.reject_request(request=req, actor=request.user, reason=form.cleaned_data.get("reason", ""))
            messages.success(request, f"Rejected: {req}.")
    except adjustments.AdjustmentError as exc:
        messages.error(request, exc.message)
    return redirect("ledger:adjustments")
