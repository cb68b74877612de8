-- ---------------------------------------------------------------------------
-- Who may call the erasure functions (issue 11): officers, through the
-- officer function and view lists (appointed officers get them now, new ones
-- at appointment).  Nothing is granted to applications: they DELETE their
-- rows (audited) or ask an officer.  The retention worker runs as the
-- extension owner.  The lists grow by these entries, whatever other parts of
-- this version add to them (each list is rebuilt from its current value).
-- ---------------------------------------------------------------------------

DO $officer$
DECLARE
	fs text;
	vs text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname,
	                             pg_catalog.oidvectortypes(p.proargtypes))), ', ' ORDER BY u.n) INTO fs
	  FROM pg_catalog.unnest(childguard._officer_functions() || ARRAY[
	           'childguard.set_erasure_action(regclass, text)',
	           'childguard.erase(text, regclass, text, text)',
	           'childguard.erase_batch(text[], regclass, text, text)',
	           'childguard.register_expiry_hook(regprocedure, regclass, text)',
	           'childguard.unregister_expiry_hook(regprocedure, regclass, text)',
	           'childguard.retry_expiry_hooks(integer)',
	           'childguard.verify_erasure_ledger()',
	           'childguard._reapply_ledger()',
	           'childguard._fire_age_hooks(integer)',
	           'childguard.erase_child(text, text, text)',
	           'childguard.cease_operations(text)',
	           'childguard._ledger_status()']::regprocedure[])
	       WITH ORDINALITY AS u(f, n)
	  JOIN pg_catalog.pg_proc p ON p.oid = u.f
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regprocedure[]
$body$$f$, fs);

	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(
	           pg_catalog.format('%I.%I', ns.nspname, c.relname)), ', ' ORDER BY u.n) INTO vs
	  FROM pg_catalog.unnest(childguard._officer_views() || ARRAY[
	           'childguard.erasure_actions', 'childguard.erasure_log',
	           'childguard.expiry_hooks', 'childguard.expiry_hook_failures',
	           'childguard.erasure_ledger_status', 'childguard.erasures']::regclass[])
	       WITH ORDINALITY AS u(v, n)
	  JOIN pg_catalog.pg_class c ON c.oid = u.v
	  JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace;
	EXECUTE pg_catalog.format($f$CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $body$
	SELECT ARRAY[%s]::regclass[]
$body$$f$, vs);
END
$officer$;

-- the officers appointed before 1.4, in the order they were appointed
SELECT childguard._grant_officer_privileges(o.role::oid)
  FROM childguard.officer o
 WHERE o.role IS NOT NULL AND childguard._role_alive(o.role)
 ORDER BY o.appointed_at, o.ctid;
