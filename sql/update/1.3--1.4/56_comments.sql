-- ---------------------------------------------------------------------------
-- COMMENT ON every object (issue 13, item 7): the functions that had none
-- before 1.4.  sql/object_comments.sql checks that every function, table,
-- view and (non-identity) sequence of the schema has one.
-- ---------------------------------------------------------------------------

-- the type's support functions
COMMENT ON FUNCTION childguard.child_data_in(cstring, oid, integer) IS
	'Text input of child_data: plaintext becomes a pending value the seal trigger seals; an envelope (cg1:...) is taken back as stored.';
COMMENT ON FUNCTION childguard.child_data_out(childguard.child_data) IS
	'Text output of child_data: the plaintext when the read decision allows it, else the envelope (no purpose) or what childguard.denied_read says.';
COMMENT ON FUNCTION childguard.child_data_recv(internal, oid, integer) IS
	'Binary input of child_data (as text input).';
COMMENT ON FUNCTION childguard.child_data_send(childguard.child_data) IS
	'Binary output of child_data (as text output).';
COMMENT ON FUNCTION childguard.child_data_typmod_in(cstring[]) IS
	'Reads the category of child_data(category) into the type modifier.';
COMMENT ON FUNCTION childguard.child_data_typmod_out(integer) IS
	'Shows the type modifier of child_data as its category.';
COMMENT ON FUNCTION childguard.child_data_eq(childguard.child_data, childguard.child_data) IS
	'The = operator: compares plaintexts, each a decided and audited read (ZC105 when either side is denied).';
COMMENT ON FUNCTION childguard.child_data_ne(childguard.child_data, childguard.child_data) IS
	'The <> operator: compares plaintexts, each a decided and audited read.';

-- keys
COMMENT ON FUNCTION childguard._new_data_key(bigint, integer) IS
	'Internal: creates and stores the data key of a newly registered child, wrapped by the master key.';
COMMENT ON FUNCTION childguard._rewrap_data_key(bigint, integer, bytea, bytea) IS
	'Internal (rotate_master_key()): replaces a wrapped data key by the same key wrapped under the current master key.';

-- registries and their checks
COMMENT ON FUNCTION childguard._catalog_changed() IS
	'Trigger on the registry tables: tells every backend''s caches (decisions, data keys, protection) that the registry changed.';
COMMENT ON FUNCTION childguard._categories(text[]) IS
	'Internal: validated, lower-cased, sorted, de-duplicated category names (22023 for an unknown one).';
COMMENT ON FUNCTION childguard._subject_of(text) IS
	'Internal: the subject number of a registered child, or an error (ZC011).';
COMMENT ON FUNCTION childguard._purpose_of(text) IS
	'Internal: the id of a defined purpose, or an error (ZC101).';
COMMENT ON FUNCTION childguard._grant_for_update(bigint) IS
	'Internal: the grant, locked against a concurrent approval or revocation, or an error.';
COMMENT ON FUNCTION childguard._approval_conflict(childguard.access_grant) IS
	'Internal: whether the approving session counts as the same person as the grant''s requester or grantee (two-person rule, security.md section 5).';
COMMENT ON FUNCTION childguard._reading_grant(oid, text) IS
	'Internal: the grant (not revoked, not expired) under which a role or a role related to it reads for the purpose (NULL: any purpose), if any.';
COMMENT ON FUNCTION childguard._recorder_related(oid) IS
	'Internal: the enrolled consent recorder a role is, or is related to, if any (separation of duties).';
COMMENT ON FUNCTION childguard._refuse_reader(text, text) IS
	'Internal: raises ZC121 when the calling role reads under a grant for the purpose and tries to record consent for it.';
COMMENT ON FUNCTION childguard._require_consent_recorder(text) IS
	'Internal: raises ZC120 unless the calling role is an enrolled consent recorder.';
COMMENT ON FUNCTION childguard._require_officer(text) IS
	'Internal: raises 42501 unless the calling role is a protection officer (or the extension owner where allowed).';
COMMENT ON FUNCTION childguard._require_owner(text) IS
	'Internal: raises 42501 unless the calling role is the extension''s owner.';
COMMENT ON FUNCTION childguard._require_auditor(text) IS
	'Internal: raises 42501 unless the calling role is a protection officer or the extension owner (audit reports).';
COMMENT ON FUNCTION childguard._caller_is_owner() IS
	'Whether the calling role is the extension''s owner (or a member of it).';
COMMENT ON FUNCTION childguard._caller_is_officer() IS
	'Whether the calling role is (a member of) an appointed protection officer whose role still stands.';
COMMENT ON FUNCTION childguard._staging_columns(regclass, text, text[], regtype[], text[], regtype[], text[]) IS
	'Internal (set-based registration): checks that a staging table is a plain table the caller may read, without row security, with each required column of its exact type; returns the expression per wanted column.';
COMMENT ON FUNCTION childguard._staging_load(regclass, text, text[], text[]) IS
	'Internal (set-based registration): copies a staging table into a work table dropped at commit, with row_no (the table''s own, unique and not null, or the physical order).';

-- duties and privileges
COMMENT ON FUNCTION childguard._application_functions() IS
	'The functions an enrolled application may call.';
COMMENT ON FUNCTION childguard._recorder_functions() IS
	'The functions an enrolled consent recorder may call.';
COMMENT ON FUNCTION childguard._officer_functions() IS
	'The functions a protection officer may call.';
COMMENT ON FUNCTION childguard._officer_views() IS
	'The views (and tables) a protection officer may read.';
COMMENT ON FUNCTION childguard._grant_duties(oid) IS
	'Internal: grants a role the schema and the functions of its enrollments (application, consent recorder).';
COMMENT ON FUNCTION childguard._grant_officer_privileges(oid) IS
	'Internal: grants an officer the schema, the officer functions and the officer views.';
COMMENT ON FUNCTION childguard._officer_audit_privileges() IS
	'Trigger on the officer table: appointing or dismissing an officer grants or revokes the access log, its views, verify_access_log() and the reports.';
COMMENT ON FUNCTION childguard._anchor_role(oid) IS
	'Internal: grants a role EXECUTE on _role_anchor(), which ties its OID to the duty childguard recorded (DROP ROLE then needs the tie released first).';
COMMENT ON FUNCTION childguard._role_event(text, oid, name, text) IS
	'Internal: records an event about a role (appointed, enrolled, dropped, released ...) in role_event.';
COMMENT ON FUNCTION childguard._role_name(oid) IS
	'The current name of a role OID, or NULL when the role is gone.';
COMMENT ON FUNCTION childguard._upgrade_bind(name, xid) IS
	'Internal (1.0 -> 1.1 upgrade): the role a 1.0 registry entry meant by name, unless the role''s catalog row was written after the entry.';

-- consent log
COMMENT ON FUNCTION childguard._consent_event() IS
	'Trigger on consent (UPDATE): appends the withdrawal or lapse to the hash-chained consent log.';
COMMENT ON FUNCTION childguard._consent_events_inserted() IS
	'Statement trigger on consent (INSERT): appends the inserted consents'' events to the hash-chained consent log in one pass.';
COMMENT ON FUNCTION childguard._consent_event_text(childguard.consent_log) IS
	'The text of a consent-log event that its hash covers.';
COMMENT ON FUNCTION childguard._consent_log_append(childguard.consent, text, timestamptz, oid, oid) IS
	'Internal: appends one event to the consent log, chained to the previous one by hash.';
COMMENT ON FUNCTION childguard._consent_log_guard() IS
	'Trigger on consent_log: refuses UPDATE, DELETE and TRUNCATE (ZC203), for every role.';
COMMENT ON FUNCTION childguard._hash_chain_step(bytea, bytea, text) IS
	'One step of a hash chain: SHA-256 of the previous hash (or the seed) and the text.';
COMMENT ON AGGREGATE childguard._hash_chain(bytea, text) IS
	'Aggregate over events in order: each one''s hash in a chain seeded by the head''s hash.';
