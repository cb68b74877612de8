-- ---------------------------------------------------------------------------
-- 18 (1.5 -> 1.6): the consent log's statement trigger in C (issue 12,
-- set-based registration).
--
-- _consent_events_inserted(), AFTER INSERT FOR EACH STATEMENT on
-- childguard.consent, appended a statement's events with one INSERT that
-- numbered them (a sort and a window), hashed them (a window aggregate over
-- a second sort) and took each one's previous hash (a third window): 17% of
-- a set-based registration's time.  The C function reads the transition
-- table once, numbers and hashes the events in order of consent_id in one
-- pass and inserts them in chunks (src/consent/consent_log_append.c).  The
-- rows are the same: the same numbers, texts, hashes and previous hashes,
-- so verify_consent_log() stays exact; the head's row lock still
-- serialises appenders.  Replaced in place: the trigger, its grants and its
-- comment stay.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION childguard._consent_events_inserted()
	RETURNS trigger
	LANGUAGE c
	SECURITY DEFINER
	SET search_path TO 'pg_catalog', 'pg_temp'
	AS 'MODULE_PATHNAME', 'cg_consent_events_inserted';
