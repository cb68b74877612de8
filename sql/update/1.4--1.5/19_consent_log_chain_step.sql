-- ---------------------------------------------------------------------------
-- The consent log's hash chain step and event text in C (issue 12,
-- set-based registration).  The step:
-- the same value as the SQL function it replaces, SHA-256(previous hash ||
-- the event's text in UTF-8), so every hash written stays valid and
-- verify_consent_log() unchanged; as SQL it cost an SQL function call per
-- event inside record_consents' statement trigger
-- (src/consent/consent_log_chain.c).
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION childguard._hash_chain_step(state bytea, seed bytea, t text) RETURNS bytea
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'cg_hash_chain_step';

-- An event's canonical text, as _consent_event_text() makes it with
-- jsonb_build_array(...)::text, built directly (about 13 µs an event less);
-- the statement trigger that appends a statement's events uses it (replaced
-- whole below, its one change that call).
CREATE FUNCTION childguard._consent_event_json(event_id bigint, at_us bigint, consent_id bigint,
		subject_no bigint, purpose_id integer, event text, giver_kind text, guardian_id text,
		notice_id text, notice_version integer, by_role oid, by_role_name text,
		session_role_name text)
	RETURNS text
	LANGUAGE c IMMUTABLE PARALLEL SAFE
	AS 'MODULE_PATHNAME', 'cg_consent_event_json';
REVOKE ALL ON FUNCTION childguard._consent_event_json(bigint, bigint, bigint, bigint, integer, text, text,
	text, text, integer, oid, text, text) FROM PUBLIC;
COMMENT ON FUNCTION childguard._consent_event_json(bigint, bigint, bigint, bigint, integer, text, text,
	text, text, integer, oid, text, text) IS
	'Internal: a consent event''s canonical text for the consent log''s hash chain, the same as _consent_event_text() (jsonb_build_array(...)::text), built in C.';

CREATE OR REPLACE FUNCTION childguard._consent_events_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	h childguard.consent_log_head;
	n bigint;
	caller oid := childguard._caller_oid();
	sess oid := childguard._session_oid();
	caller_name name := childguard._role_name(childguard._caller_oid());
	sess_name name := childguard._role_name(childguard._session_oid());
BEGIN
	-- a row inserted whole (restore, or a superuser's INSERT) brings its
	-- history: its decision and, if so, its withdrawal and lapse
	SELECT pg_catalog.count(*) + pg_catalog.count(k.withdrawn_at) + pg_catalog.count(k.lapsed_at)
	  INTO n FROM inserted_consents k;
	IF n = 0 THEN
		RETURN NULL;
	END IF;
	-- the head's row lock serialises appenders, as one row at a time did
	UPDATE childguard.consent_log_head x SET last_id = x.last_id + n
	 RETURNING * INTO h;
	INSERT INTO childguard.consent_log
	WITH ev AS (
		SELECT (h.last_id - n + pg_catalog.row_number() OVER (ORDER BY k.consent_id, e.ord))::bigint AS event_id,
		       e.at, k.consent_id, k.subject_no, k.purpose_id, e.event, k.giver_kind, k.guardian_id,
		       k.notice_id, k.notice_version, e.by_role::regrole AS by_role,
		       CASE WHEN e.by_role = caller THEN caller_name
		            ELSE childguard._role_name(e.by_role) END AS by_role_name,
		       sess_name AS session_role_name
		  FROM inserted_consents k
		 CROSS JOIN LATERAL (VALUES (k.decision, k.given_at, coalesce(k.recorded_by_role::oid, caller), 1),
		                            ('withdrawn', k.withdrawn_at, k.withdrawn_by::oid, 2),
		                            ('lapsed', k.lapsed_at, NULL::oid, 3)) AS e(event, at, by_role, ord)
		 WHERE e.ord = 1 OR e.at IS NOT NULL
	), hashed AS (
		-- the text is _consent_event_text()'s, built in C
		-- (_consent_event_json: jsonb_build_array(...)::text cost more than
		-- the rest of the event); verify_consent_log() checks the two agree
		SELECT ev.*,
		       childguard._hash_chain(h.last_hash,
		           childguard._consent_event_json(
		               ev.event_id, (EXTRACT(epoch FROM ev.at) * 1000000)::bigint,
		               ev.consent_id, ev.subject_no, ev.purpose_id, ev.event, ev.giver_kind, ev.guardian_id,
		               ev.notice_id, ev.notice_version, ev.by_role::oid, ev.by_role_name::text,
		               ev.session_role_name::text))
		           OVER (ORDER BY ev.event_id) AS hash
		  FROM ev
	)
	SELECT x.event_id, x.at, x.consent_id, x.subject_no, x.purpose_id, x.event, x.giver_kind,
	       x.guardian_id, x.notice_id, x.notice_version, x.by_role, x.by_role_name,
	       x.session_role_name,
	       coalesce(pg_catalog.lag(x.hash) OVER (ORDER BY x.event_id), h.last_hash),
	       x.hash
	  FROM hashed x
	 ORDER BY x.event_id;
	UPDATE childguard.consent_log_head x
	   SET last_hash = (SELECT l.hash FROM childguard.consent_log l WHERE l.event_id = h.last_id);
	RETURN NULL;
END
$function$;
