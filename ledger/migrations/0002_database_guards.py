"""Database guards for the ledger and the audit trail (PostgreSQL).

- A deferred constraint trigger on ``ledger_posting`` rejects, at commit, any journal entry
  whose debits ≠ credits.
- Triggers refuse UPDATE and DELETE of postings, journal entries and audit events: nothing
  booked is ever edited; corrections are new entries. (TRUNCATE, used only by test teardown,
  is not a row operation.)

SQLite gets no triggers here: the test runner empties tables with DELETE between
transactional tests, and the models and admin refuse edits there as on PostgreSQL.
"""

from django.db import migrations

FORWARD = """
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

CREATE OR REPLACE FUNCTION atlas_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION atlas_refuse_change();
CREATE TRIGGER ledger_journalentry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION atlas_refuse_change();
CREATE TRIGGER atlas_auditevent_append_only BEFORE UPDATE OR DELETE ON atlas_auditevent
    FOR EACH ROW EXECUTE FUNCTION atlas_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS atlas_auditevent_append_only ON atlas_auditevent;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS atlas_refuse_change();
DROP FUNCTION IF EXISTS atlas_check_entry_balanced();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
        ("atlas", "0001_initial"),
    ]
    operations = [migrations.RunPython(forward, backward)]
