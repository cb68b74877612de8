-- ---------------------------------------------------------------------------
-- Inspection views (issue 13, item 7): for the application, its own grants
-- and when they expire; for officers, consent coverage per purpose, grants
-- expiring, and protection per table.
-- ---------------------------------------------------------------------------

-- The caller's own grants (as grantee, directly or through membership).
CREATE VIEW childguard.my_grants WITH (security_barrier) AS
	SELECT g.grant_id, g.grantee_role AS grantee, g.purposes, g.categories, g.max_children,
	       g.valid_from, g.valid_until,
	       CASE WHEN g.revoked_at IS NOT NULL THEN 'revoked'
	            WHEN g.approved_at IS NULL THEN 'requested'
	            WHEN g.valid_until <= pg_catalog.now() THEN 'expired'
	            WHEN g.valid_from > pg_catalog.now() THEN 'approved, not yet valid'
	            ELSE 'in force' END AS status,
	       CASE WHEN g.revoked_at IS NULL AND g.approved_at IS NOT NULL AND g.valid_until > pg_catalog.now()
	            THEN g.valid_until - pg_catalog.now() END AS expires_in,
	       g.processor, g.agreement, g.approved_at, g.revoked_at
	  FROM childguard.access_grant g
	 WHERE g.grantee_role IS NOT NULL
	   AND pg_catalog.pg_has_role(CURRENT_USER, g.grantee_role::oid, 'MEMBER');
GRANT SELECT ON childguard.my_grants TO PUBLIC;
COMMENT ON VIEW childguard.my_grants IS
	'The grants of the current role (as grantee, directly or through membership): purposes, categories, the per-statement limit, validity, status (requested, in force, expired, revoked ...) and the time left before it expires. Other roles'' grants are not shown.';

-- Per purpose: the children registered, and how many of them have a
-- consent in force for it (the read decision's rule, consent_in_force()),
-- a refusal, a withdrawal, or no decision at all.
CREATE VIEW childguard.consent_coverage AS
	WITH last AS (
		SELECT DISTINCT ON (k.subject_no, k.purpose_id) k.subject_no, k.purpose_id,
		       CASE WHEN k.withdrawn_at IS NOT NULL THEN 'withdrawn'
		            WHEN k.lapsed_at IS NOT NULL THEN 'lapsed'
		            ELSE k.decision END AS word
		  FROM childguard.consent k
		 ORDER BY k.subject_no, k.purpose_id,
		          GREATEST(k.given_at, k.withdrawn_at, k.lapsed_at) DESC, k.consent_id DESC
	)
	SELECT p.purpose, p.kind, p.categories,
	       (SELECT pg_catalog.count(*) FROM childguard.child c WHERE c.erased_at IS NULL) AS children,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'granted'
	                                     AND childguard.consent_in_force(c.child_id, p.purpose)) AS in_force,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'refused') AS refused,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'withdrawn') AS withdrawn,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'lapsed') AS lapsed,
	       pg_catalog.count(*) FILTER (WHERE l.word = 'granted'
	                                     AND NOT childguard.consent_in_force(c.child_id, p.purpose)) AS granted_not_in_force
	  FROM childguard.purpose p
	  LEFT JOIN last l ON l.purpose_id = p.purpose_id
	  LEFT JOIN childguard.child c ON c.subject_no = l.subject_no AND c.erased_at IS NULL
	 WHERE l.subject_no IS NULL OR c.subject_no IS NOT NULL
	 GROUP BY p.purpose_id, p.purpose, p.kind, p.categories;
REVOKE ALL ON childguard.consent_coverage FROM PUBLIC;
COMMENT ON VIEW childguard.consent_coverage IS
	'Officers: per purpose, the children registered (not erased) and how many have a consent in force for it (consent_in_force(), the read decision''s rule), or whose last word is a refusal, a withdrawal or a lapse, or a consent given but not in force (e.g. the child turned 14, retention ran out). children minus the others: no decision yet.';

-- Grants in force that end within 30 days, soonest first.
CREATE VIEW childguard.grants_expiring AS
	SELECT g.grant_id, g.grantee_role AS grantee, g.grantee AS grantee_name, g.purposes, g.categories,
	       g.processor, g.valid_until, g.valid_until - pg_catalog.now() AS expires_in
	  FROM childguard.access_grant g
	 WHERE g.revoked_at IS NULL AND g.approved_at IS NOT NULL
	   AND g.valid_from <= pg_catalog.now() AND g.valid_until > pg_catalog.now()
	   AND g.valid_until <= pg_catalog.now() + interval '30 days'
	 ORDER BY g.valid_until;
REVOKE ALL ON childguard.grants_expiring FROM PUBLIC;
COMMENT ON VIEW childguard.grants_expiring IS
	'Officers: approved grants in force that end within 30 days, soonest first, with the time left.';

-- Every table holding child data: protected or why not, its subject
-- column and classified columns, and any migration of it under way.
CREATE VIEW childguard.protection_status AS
	SELECT pc.table_name, c.relowner::regrole AS owner,
	       pg_catalog.bool_and(pc.is_protected) AS is_protected,
	       childguard.protection_problem(pc.table_name) AS problem,
	       pg_catalog.min(pc.subject_column) AS subject_column,
	       pg_catalog.array_agg(pc.column_name || ' ' || coalesce(pc.category, '(no category)')
	                            ORDER BY pc.column_name) AS columns,
	       c.relrowsecurity AND c.relforcerowsecurity AS row_security_forced,
	       (SELECT pg_catalog.string_agg(m.col || ': ' || m.state, ', ' ORDER BY m.col)
	          FROM childguard.migration m WHERE m.tbl = pc.table_name AND m.state IN ('filling', 'stopped'))
	         AS migrating
	  FROM childguard.protected_columns pc
	  JOIN pg_catalog.pg_class c ON c.oid = pc.table_name
	 GROUP BY pc.table_name, c.relowner, c.relrowsecurity, c.relforcerowsecurity;
REVOKE ALL ON childguard.protection_status FROM PUBLIC;
COMMENT ON VIEW childguard.protection_status IS
	'Officers: every table holding child data, whether it is protected (the write guard''s own answer) and if not why, its subject column, its columns and their categories, forced row security, and the columns being migrated (migrate_column()).';

-- Officers get the three views, those appointed before 1.4 too.  The list
-- is extended, not rewritten, so that other parts of 1.4 may extend it too.
DO $lists$
DECLARE
	views text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.quote_literal(pg_catalog.format('%I.%I', n.nspname, c.relname)),
	                             ', ' ORDER BY v.o)
	  INTO views
	  FROM pg_catalog.unnest(childguard._officer_views() ||
	                         ARRAY['childguard.consent_coverage', 'childguard.grants_expiring',
	                               'childguard.protection_status']::regclass[]) WITH ORDINALITY v(r, o)
	  JOIN pg_catalog.pg_class c ON c.oid = v.r
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
	EXECUTE pg_catalog.format(
		'CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[] '
		'LANGUAGE sql IMMUTABLE AS %L',
		pg_catalog.format('SELECT ARRAY[%s]::regclass[]', views));
END
$lists$;
-- (in the order they were appointed, as on a fresh install making the same calls)
SELECT childguard._grant_officer_privileges(o.role)
  FROM (SELECT o.role, o.appointed_at, o.ctid AS c FROM childguard.officer o
         WHERE o.role IS NOT NULL ORDER BY o.appointed_at, o.ctid) o;
