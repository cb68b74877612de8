-- ---------------------------------------------------------------------------
-- Who may call the erasure functions (issue 11): officers, through the
-- officer function and view lists (appointed officers get them now, new ones
-- at appointment).  Nothing is granted to applications: they DELETE their
-- rows (audited) or ask an officer.  The retention worker runs as the
-- extension owner.
--
-- MERGE NOTE: _officer_functions() and _officer_views() are single lists;
-- other parts of 1.4 may extend them too.  Each part re-creates them from
-- the lists before it plus its own entries.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION childguard._officer_functions() RETURNS regprocedure[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY[
		'childguard.publish_notice(text, text[], text, text, text, text, text, text, text, boolean)',
		'childguard.define_purpose(text, text[], interval, text, boolean, text)',
		'childguard.record_assessment(text, text, text)',
		'childguard.set_child_circumstances(text, boolean, boolean)',
		'childguard.approve_access(bigint)',
		'childguard.revoke_access(bigint)',
		'childguard.enroll_application(regrole)',
		'childguard.enroll_consent_recorder(regrole)',
		'childguard.unenroll(regrole, text)',
		'childguard.consent_in_force(text, text, date)',
		'childguard.verify_consent_log()',
		-- 1.4, erasure (parts 20-29)
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
		'childguard._ledger_status()'
	]::regprocedure[] || childguard._application_functions()
$$;

CREATE OR REPLACE FUNCTION childguard._officer_views() RETURNS regclass[]
	LANGUAGE sql IMMUTABLE
AS $$
	SELECT ARRAY['childguard.children', 'childguard.guardians', 'childguard.notices',
	             'childguard.purposes', 'childguard.consents', 'childguard.access_grants',
	             'childguard.officers', 'childguard.consent_log', 'childguard.role_events',
	             'childguard.enrollments',
	             -- 1.4, erasure (parts 20-29)
	             'childguard.erasure_actions', 'childguard.erasure_log',
	             'childguard.expiry_hooks', 'childguard.expiry_hook_failures',
	             'childguard.erasure_ledger_status', 'childguard.erasures']::regclass[]
$$;

-- the officers appointed before 1.4, in the order they were appointed
SELECT childguard._grant_officer_privileges(o.role::oid)
  FROM childguard.officer o
 WHERE o.role IS NOT NULL AND childguard._role_alive(o.role)
 ORDER BY o.appointed_at, o.ctid;
