"""Database-level ledger invariants (Postgres only; SQLite relies on the posting function's checks).

* ``accounts_posting_zero_sum``: a deferred constraint trigger; at commit, the postings of every
  ledger transaction touched must sum to zero per token, or the commit fails. It checks a whole
  transaction once (a transaction-local marker skips the other rows of the same transaction, which
  arrive consecutively), so a batch of thousands of postings costs one pass, not one per row.
* ``*_append_only``: postings and ledger transactions can be inserted, never updated or deleted.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION ledger_check_zero_sum() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    IF current_setting('ledger.zero_sum_checked', true) = NEW.transaction_id::text THEN
        RETURN NULL;
    END IF;
    SELECT token_id, SUM(amount) AS total INTO bad
      FROM accounts_posting
     WHERE transaction_id = NEW.transaction_id
     GROUP BY token_id
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % is unbalanced: % postings sum to %',
            NEW.transaction_id, bad.token_id, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('ledger.zero_sum_checked', NEW.transaction_id::text, true);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER accounts_posting_zero_sum
    AFTER INSERT ON accounts_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_zero_sum();

CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: corrections are new transactions', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_posting_append_only
    BEFORE UPDATE OR DELETE ON accounts_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER accounts_ledgertransaction_append_only
    BEFORE UPDATE OR DELETE ON accounts_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS accounts_ledgertransaction_append_only ON accounts_ledgertransaction;
DROP TRIGGER IF EXISTS accounts_posting_append_only ON accounts_posting;
DROP FUNCTION IF EXISTS ledger_append_only();
DROP TRIGGER IF EXISTS accounts_posting_zero_sum ON accounts_posting;
DROP FUNCTION IF EXISTS ledger_check_zero_sum();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def reverse(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [migrations.RunPython(forward, reverse)]
