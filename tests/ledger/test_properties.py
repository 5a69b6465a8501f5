"""Property-based: random event sequences keep every invariant, and balances equal an
independent reference computation written here from DOMAIN.md (not from ledger.rules)."""

import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.models import Account, ReserveTranche
from ledger.services import LedgerError, book_transactions, release_reserves
from ledger.verify import verify
from tests.factories import ClientFactory, ReceivableFactory, TransactionFactory

D = Decimal
START = datetime.date(2026, 3, 1)
TYPES = [
    "advance",
    "collection",
    "fee",
    "interest",
    "reserve_drawdown",
    "reserve_topup",
    "partner_rr_hold",
    "partner_rr_release",
    "adjustment",
]

cents = st.integers(min_value=1, max_value=500_000).map(lambda c: D(c) / 100)
event = st.tuples(st.sampled_from(TYPES), cents, st.integers(0, 2), st.integers(0, 40), st.booleans())
rate = st.sampled_from([D("0"), D("0.05"), D("0.1"), D("0.125"), D("0.15"), D("0.333")])


def r2(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


class Reference:
    """DOMAIN.md section 4, written out independently. Balances: debit minus credit."""

    def __init__(self, advance_rate, reserve_rate, faces):
        self.dc = defaultdict(lambda: D("0"))
        self.advance_rate, self.reserve_rate = advance_rate, reserve_rate
        self.faces = faces
        self.adv = defaultdict(lambda: D("0"))
        self.red = defaultdict(lambda: D("0"))
        self.col = defaultdict(lambda: D("0"))
        self.tranches = []

    def post(self, debits, credits):
        for k, v in debits:
            self.dc[k] += v
        for k, v in credits:
            self.dc[k] -= v

    def apply(self, t, amount, r, date):
        """Returns False if DOMAIN.md forbids the event (the ledger must refuse it)."""
        o = self.adv[r] - self.red[r]
        if t == "advance":
            if self.adv[r] + amount > r2(self.advance_rate * self.faces[r]):
                return False
            self.adv[r] += amount
            self.post([("factoring", amount)], [("settlement", amount)])
        elif t == "collection":
            if self.col[r] + amount > self.faces[r]:
                return False
            repay = min(amount, o)
            rest = amount - repay
            reserve = r2(rest * self.reserve_rate)
            self.col[r] += amount
            self.red[r] += repay
            self.post([("bank", amount)], [("factoring", repay), ("rr", reserve), ("settlement", rest - reserve)])
            if reserve > 0:
                self.tranches.append((date + datetime.timedelta(days=10), reserve))
        elif t in ("fee", "interest"):
            self.post([("settlement", amount)], [(t, amount)])
        elif t == "reserve_drawdown":
            if amount > o or amount > -self.dc["rr"]:
                return False
            self.red[r] += amount
            self.post([("rr", amount)], [("factoring", amount)])
        elif t == "reserve_topup":
            self.post([("settlement", amount)], [("rr", amount)])
        elif t == "partner_rr_hold":
            self.post([("partner_receivable", amount)], [("partner_rr", amount)])
        elif t == "partner_rr_release":
            if amount > -self.dc["partner_rr"]:
                return False
            self.post(
                [("bank", amount), ("partner_rr", amount)], [("partner_receivable", amount), ("settlement", amount)]
            )
        elif t == "adjustment":
            self.post([("adjustments", amount)], [("settlement", amount)])
        return True


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, min_size=1, max_size=25), advance_rate=rate, reserve_rate=rate)
def test_random_sequences_keep_invariants_and_match_reference(events, advance_rate, reserve_rate):
    # every example runs in its own savepoint, rolled back at the end: examples don't see each other
    with transaction.atomic():
        _check_sequence(events, advance_rate, reserve_rate)
        transaction.set_rollback(True)


def _check_sequence(events, advance_rate, reserve_rate):
    client = ClientFactory(advance_rate=advance_rate, reserve_rate=reserve_rate, reserve_hold_days=10)
    recs = [ReceivableFactory(client=client, face_value=D(f)) for f in ("1000.00", "2500.50", "99.99")]
    ref = Reference(advance_rate, reserve_rate, {i: r.face_value for i, r in enumerate(recs)})
    for n, (t, amount, ri, offset, negative) in enumerate(events):
        date = START + datetime.timedelta(days=offset)
        if t == "adjustment" and negative:
            amount = -amount
        fields = {"client": client, "type": t, "amount": amount, "date": date, "receivable": recs[ri]}
        if ref.apply(t, amount, ri, date):
            book_transactions([TransactionFactory(source_row=n + 2, **fields)])
        else:
            with pytest.raises(LedgerError), transaction.atomic():
                book_transactions([TransactionFactory(source_row=n + 2, **fields)])
    assert verify() == []
    kinds = {
        "factoring": ("factoring", 1),
        "settlement": ("settlement", -1),
        "rolling_reserve": ("rr", -1),
        "partner_rr": ("partner_rr", -1),
    }
    for kind, (ref_key, sign) in kinds.items():
        acct = Account.objects.filter(client=client, kind=kind).first()
        assert (acct.balance if acct else D("0")) == sign * ref.dc[ref_key], kind
    for kind, sign in (("bank", 1), ("fee_income", -1), ("interest_income", -1), ("adjustments", 1)):
        ref_key = {"fee_income": "fee", "interest_income": "interest"}.get(kind, kind)
        acct = Account.objects.filter(client__isnull=True, currency="EUR", kind=kind).first()
        assert (acct.balance if acct else D("0")) == sign * ref.dc[ref_key], kind
    assert sorted((t.due_date, t.amount) for t in ReserveTranche.objects.filter(client=client)) == sorted(ref.tranches)

    # releases at a late date: the reserve never drops below the requirement, and a re-run books nothing
    late = START + datetime.timedelta(days=45)
    release_reserves(as_of=late)
    rr = Account.objects.filter(client=client, kind="rolling_reserve").first()
    released = sum((t.amount for t in ReserveTranche.objects.filter(client=client, released_on=late)), D("0"))
    assert (rr.balance if rr else D("0")) == -ref.dc["rr"] - released
    assert release_reserves(as_of=late).released == []
    assert verify() == []
