-- ---------------------------------------------------------------------------
-- The registry's change triggers fire whatever session_replication_role
-- says (issue 12, coldread).
--
-- Every registry table tells the backends' caches (their own, and the
-- cache shared by the backends) of a committed change through its
-- _catalog_changed() statement trigger.  Enabled "on origin", such a
-- trigger does not fire in a session with session_replication_role =
-- replica: a superuser writing the
-- registry that way -- a consent withdrawn, a key destroyed -- left every
-- backend reading from its caches as if nothing had changed.  ENABLE
-- ALWAYS fires them in every mode; they only note the change, so
-- replicated rows are not touched twice.  The set-based registration's
-- fast path (_registration_skips_ri) accepts an ALWAYS trigger: the
-- setting neither skips nor starts it.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
	t record;
BEGIN
	FOR t IN
		SELECT tg.tgrelid::regclass AS tbl, tg.tgname
		  FROM pg_catalog.pg_trigger tg
		 WHERE tg.tgfoid = 'childguard._catalog_changed()'::regprocedure
		   AND NOT tg.tgisinternal
		   AND tg.tgenabled <> 'A'
		 ORDER BY 1, 2
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.tgname);
	END LOOP;
END
$$;
