import datetime
from decimal import Decimal as D
from ledger import services
from ledger.models import AccountKind, JournalEntry, SourceType
from tests.factories import ClientFactory, ReceivableFactory, TransactionFactory, ImportBatchFactory

def test_lp_shots(journey):
    batch = ImportBatchFactory(file_name="atlas-demo.xlsx")
    c = ClientFactory(client_id="CL0042", name="Nordwind Handel GmbH")
    r = ReceivableFactory(client=c, face_value=D("10000.00"), import_batch=batch, source_sheet="Receivables", source_row=4)
    txns = [TransactionFactory(client=c, type="advance", amount=D("8000.00"), receivable=r, date=datetime.date(2026,1,5), import_batch=batch, source_sheet="Transactions", source_row=2)]
    txns += [TransactionFactory(client=c, type="fee", amount=D("1.25")+i, date=datetime.date(2026,1,6)+datetime.timedelta(days=i)) for i in range(120)]
    txns += [TransactionFactory(client=c, type="collection", amount=D("10000.00"), receivable=r, date=datetime.date(2026,6,1), import_batch=batch, source_sheet="Transactions", source_row=130, reference="BANK-1")]
    services.book_transactions(txns)
    acct = services.client_accounts(c)[AccountKind.SETTLEMENT]
    e = JournalEntry.objects.get(source_type=SourceType.TRANSACTION, transaction=txns[-1])
    j = journey("ledgerpages", role="finance")
    j.go("/ledger/"); j.shot("accounts")
    j.go(f"/ledger/accounts/{acct.pk}/"); j.shot("statement")
    j.go(f"/ledger/accounts/{acct.pk}/?last=1"); j.shot("statement-last")
    j.go(f"/ledger/entries/{e.pk}/"); j.shot("entry")
