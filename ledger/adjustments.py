"""Manual adjustments and write-offs, with four eyes.

A user asks (:func:`request_adjustment` — ops or credit; :func:`request_write_off` — credit, as
DOMAIN.md makes a write-off a Credit Manager's action); nothing is booked yet. A Credit Manager
who is not the requester approves (:func:`approve_request`), which books the entry through the
ledger's booking service in the same transaction, or rejects it (:func:`reject_request`). Each
step locks the request, re-checks its state and writes an audit row.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from atlas.models import audit
from atlas.roles import CREDIT, OPS, check_role
from ledger.models import AdjustmentRequest
from ledger.services import LedgerError, book_adjustment, book_write_off


class AdjustmentError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise AdjustmentError("A reason is required.")
    return reason


def request_adjustment(*, client, amount: Decimal, date: datetime.date, reason: str, actor) -> AdjustmentRequest:
    check_role(actor, OPS, CREDIT)
    if amount == 0:
        raise AdjustmentError("An adjustment may not be zero.")
    with transaction.atomic():
        req = AdjustmentRequest.objects.create(
            kind=AdjustmentRequest.Kind.ADJUSTMENT,
            client=client,
            amount=amount,
            date=date,
            reason=_reason(reason),
            requested_by=actor,
        )
        audit(
            actor=actor,
            action="adjustment_requested",
            obj=req,
            client=client,
            after={"amount": str(amount)},
            reason=req.reason,
        )
    return req


def request_write_off(*, receivable, amount: Decimal, date: datetime.date, reason: str, actor) -> AdjustmentRequest:
    check_role(actor, CREDIT)
    if amount <= 0:
        raise AdjustmentError("A write-off must be greater than zero.")
    outstanding = receivable.advance_outstanding
    if amount > outstanding:
        raise AdjustmentError(
            f"A write-off of {amount} exceeds the advance outstanding on {receivable.receivable_id} ({outstanding})."
        )
    with transaction.atomic():
        req = AdjustmentRequest.objects.create(
            kind=AdjustmentRequest.Kind.WRITE_OFF,
            client=receivable.client,
            receivable=receivable,
            amount=amount,
            date=date,
            reason=_reason(reason),
            requested_by=actor,
        )
        audit(
            actor=actor,
            action="write_off_requested",
            obj=req,
            client=receivable.client,
            after={"amount": str(amount), "receivable": receivable.receivable_id},
            reason=req.reason,
        )
    return req


def _locked_pending(request: AdjustmentRequest) -> AdjustmentRequest | None:
    req = (
        AdjustmentRequest.objects.select_for_update(of=("self",))
        .select_related("client", "receivable")
        .get(pk=request.pk)
    )
    return req if req.status == AdjustmentRequest.Status.PENDING else None


def approve_request(*, request: AdjustmentRequest, actor) -> AdjustmentRequest:
    """Book it. The approver must be a Credit Manager other than the requester (four eyes)."""
    check_role(actor, CREDIT)
    with transaction.atomic():
        req = _locked_pending(request)
        if req is None:
            current = AdjustmentRequest.objects.get(pk=request.pk)
            if current.status == AdjustmentRequest.Status.APPROVED:
                return current  # already done: nothing more to book
            raise AdjustmentError(f"This request is {current.status}; only a pending request can be approved.")
        if req.requested_by_id == actor.pk:
            raise AdjustmentError("Four eyes: you requested this, so another Credit Manager must approve it.")
        try:
            if req.kind == AdjustmentRequest.Kind.WRITE_OFF:
                entry = book_write_off(receivable=req.receivable, amount=req.amount, date=req.date, actor=actor)
            else:
                entry = book_adjustment(
                    client=req.client,
                    amount=req.amount,
                    date=req.date,
                    reason=req.reason,
                    actor=actor,
                    source_key=f"request:{req.pk}",
                )
        except LedgerError as exc:
            raise AdjustmentError(exc.message)
        req.status = AdjustmentRequest.Status.APPROVED
        req.decided_by, req.decided_at, req.entry = actor, timezone.now(), entry
        req.save(update_fields=["status", "decided_by", "decided_at", "entry"])
        audit(
            actor=actor,
            action=f"{req.kind}_approved",
            obj=req,
            client=req.client,
            before={"status": "pending"},
            after={"status": "approved", "entry": entry.pk},
        )
    return req


def reject_request(*, request: AdjustmentRequest, actor, reason: str) -> AdjustmentRequest:
    check_role(actor, CREDIT)
    reason = _reason(reason)
    with transaction.atomic():
        req = _locked_pending(request)
        if req is None:
            raise AdjustmentError("Only a pending request can be rejected.")
        req.status = AdjustmentRequest.Status.REJECTED
        req.decided_by, req.decided_at, req.decision_reason = actor, timezone.now(), reason
        req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        audit(
            actor=actor,
            action=f"{req.kind}_rejected",
            obj=req,
            client=req.client,
            before={"status": "pending"},
            after={"status": "rejected"},
            reason=reason,
        )
    return req
