"""factory-boy factories for every model. Build state through services where a rule applies
(ledger bookings, payout transitions); factories only make the reference rows."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User

from clients.models import Client, Debtor, ImportBatch, Partner, Receivable, Transaction
from payouts.models import Payout, PayoutBatch
from portfolio.models import Loan


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-123")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                # get_or_create: a transactional test's flush empties the groups the migration made
                self.groups.add(Group.objects.get_or_create(name=name)[0])
        if create:
            self.save()


class ImportBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportBatch

    file_name = "test.xlsx"
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    status = ImportBatch.Status.DONE


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    partner_id = factory.Sequence(lambda n: f"PRT{n:03d}")
    name = factory.Faker("company")


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    client_id = factory.Sequence(lambda n: f"CL{n:04d}")
    name = factory.Faker("company")
    country = "DE"
    currency = "EUR"
    status = Client.Status.ACTIVE
    credit_limit = Decimal("100000.00")
    advance_rate = Decimal("0.80")
    reserve_rate = Decimal("0.10")
    reserve_hold_days = 30
    fee_rate = Decimal("0.01")
    iban = "DE89370400440532013000"
    bic = "COBADEFFXXX"


class DebtorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Debtor

    debtor_id = factory.Sequence(lambda n: f"DB{n:04d}")
    name = factory.Faker("company")
    country = "DE"
    concentration_limit = None


class ReceivableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Receivable

    receivable_id = factory.Sequence(lambda n: f"R{n:05d}")
    client = factory.SubFactory(ClientFactory)
    debtor = factory.SubFactory(DebtorFactory)
    invoice_number = factory.Sequence(lambda n: f"INV-{n:05d}")
    issue_date = datetime.date(2026, 1, 1)
    due_date = datetime.date(2026, 2, 1)
    currency = factory.SelfAttribute("client.currency")
    face_value = Decimal("10000.00")


class TransactionFactory(factory.django.DjangoModelFactory):
    """An unbooked transaction row; book it with the ledger service."""

    class Meta:
        model = Transaction

    txn_id = factory.Sequence(lambda n: f"T{n:06d}")
    date = datetime.date(2026, 1, 5)
    client = factory.SubFactory(ClientFactory)
    type = Transaction.Type.FEE
    amount = Decimal("10.00")
    currency = factory.SelfAttribute("client.currency")
    receivable = None
    reference = ""


class LoanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Loan

    loan_id = factory.Sequence(lambda n: f"L{n:04d}")
    client = factory.SubFactory(ClientFactory)
    principal = Decimal("10000.00")
    currency = factory.SelfAttribute("client.currency")
    annual_rate = Decimal("0.06")
    start_date = datetime.date(2026, 1, 31)
    term_months = 12
    method = Loan.Method.ANNUITY
    day_count = Loan.DayCount.D30_360


class PayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payout

    payout_id = factory.Sequence(lambda n: f"PO{n:05d}")
    client = factory.SubFactory(ClientFactory)
    amount = Decimal("100.00")
    currency = factory.SelfAttribute("client.currency")
    status = "ready"


class PayoutBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PayoutBatch
