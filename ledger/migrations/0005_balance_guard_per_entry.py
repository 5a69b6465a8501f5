"""The balance guard checks each journal entry once, not once per posting (PostgreSQL).

0002 checked an entry's balance in a deferred trigger on ``ledger_posting``: at commit it ran
once per posting (≈ 600,000 times for a 2,000-client import, each summing the entry's legs).
Now:

- ``ledger_journalentry_balanced``: a deferred constraint trigger on ``ledger_journalentry``
  checks, at commit, that every entry inserted in the transaction has debits = credits (an
  entry without postings sums 0 = 0, as before).
- ``ledger_posting_entry_open``: a statement trigger on ``ledger_posting`` (one call per
  ``INSERT``/``COPY``, over its transition table) refuses postings added to an entry that was
  not inserted by the current transaction (its ``xmin`` is neither this transaction nor one of
  its subtransactions, or the entry is not visible): such an entry's balance was checked when it
  was committed and would not be checked again. So every balance is checked at the commit that
  creates the entry, and an entry never gains legs afterwards.

What stays as it was: UPDATE and DELETE of postings, entries and audit events are refused
(0002). SQLite gets no triggers (see 0002).
"""

from django.db import migrations

FORWARD = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS atlas_check_entry_balanced();

CREATE OR REPLACE FUNCTION atlas_check_journal_entry_balanced() RETURNS trigger AS $$
DECLARE
    d numeric; c numeric;
BEGIN
    SELECT COALESCE(SUM(amount) FILTER (WHERE side = 'D'), 0),
           COALESCE(SUM(amount) FILTER (WHERE side = 'C'), 0)
      INTO d, c FROM ledger_posting WHERE entry_id = NEW.id;
    IF d <> c THEN
        RAISE EXCEPTION 'unbalanced journal entry %: debits % <> credits %', NEW.id, d, c
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_journalentry_balanced
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION atlas_check_journal_entry_balanced();

-- An entry is open if this transaction (or one of its subtransactions) inserted it: its xmin,
-- widened to 64 bits as the value nearest the current top-level xid (every unfrozen xid lies
-- within 2^31 of it; subtransaction xids are above it; frozen rows show xmin 2), is
-- 'in progress' for pg_xact_status, which answers so for the current transaction's own xids,
-- committed subtransactions included (rows of other transactions still in progress are not
-- visible). One query per INSERT or COPY statement, over its transition table.
CREATE OR REPLACE FUNCTION atlas_refuse_legs_of_closed_entries() RETURNS trigger AS $$
DECLARE
    closed bigint;
    top bigint := pg_current_xact_id()::text::bigint;
BEGIN
    SELECT n.entry_id INTO closed
      FROM (SELECT DISTINCT entry_id FROM new_postings) n
      LEFT JOIN LATERAL (
            SELECT je.xmin::text::bigint AS x, ((top >> 32) << 32) + je.xmin::text::bigint AS w
              FROM ledger_journalentry je WHERE je.id = n.entry_id) e ON true
     WHERE e.x IS NULL OR e.x < 3
        OR pg_xact_status(
               CASE WHEN e.w - top > 2147483648 THEN NULLIF(GREATEST(e.w - 4294967296, -1), -1)
                    WHEN top - e.w > 2147483648 THEN e.w + 4294967296
                    ELSE e.w END::text::xid8
           ) IS DISTINCT FROM 'in progress'
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % was booked by an earlier transaction: postings cannot be added to it', closed
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_entry_open
    AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_refuse_legs_of_closed_entries();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_posting_entry_open ON ledger_posting;
DROP FUNCTION IF EXISTS atlas_refuse_legs_of_closed_entries();
DROP TRIGGER IF EXISTS ledger_journalentry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS atlas_check_journal_entry_balanced();

CREATE OR REPLACE FUNCTION atlas_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    d numeric; c numeric;
BEGIN
    SELECT COALESCE(SUM(CASE WHEN side = 'D' THEN amount END), 0),
           COALESCE(SUM(CASE WHEN side = 'C' THEN amount END), 0)
      INTO d, c FROM ledger_posting WHERE entry_id = NEW.entry_id;
    IF d <> c THEN
        RAISE EXCEPTION 'unbalanced journal entry %: debits % <> credits %', NEW.entry_id, d, c
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION atlas_check_entry_balanced();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_adjustment_requests")]
    operations = [migrations.RunPython(forward, backward)]
