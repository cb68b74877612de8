-- Runs last (named to sort last): the regress_* roles the suites created --
-- the fixture's officer and consent recorder, and any a test left -- are
-- dropped, with what they own or were granted in this database, so that
-- `make installcheck` leaves no role behind in the cluster it ran against.
-- (Each test's own database is dropped by the test itself.)
SET client_min_messages = warning;
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE 'regress\_%' LOOP
		EXECUTE pg_catalog.format('DROP OWNED BY %I CASCADE', r.rolname);
	END LOOP;
	FOR r IN SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE 'regress\_%' LOOP
		EXECUTE pg_catalog.format('DROP ROLE %I', r.rolname);
	END LOOP;
END
$$;
RESET client_min_messages;
SELECT count(*) AS regress_roles_left FROM pg_catalog.pg_roles WHERE rolname LIKE 'regress\_%';
