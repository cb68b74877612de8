-------------------------------------------------------------------------------
-- 1.1: the audit queue across faults (issue 9; src/audit_queue.c,
-- docs/reliability.md).  The audit queue's state: records carried over a
-- crash or shutdown, records of dropped databases settled to the server
-- log, and postmasters that ended without saving their queue.
-------------------------------------------------------------------------------

CREATE FUNCTION childguard.audit_queue_status(
	OUT epoch timestamptz,
	OUT queued_records bigint,
	OUT queued_bytes bigint,
	OUT queue_size bigint,
	OUT carried_over bigint,
	OUT not_carried_over bigint,
	OUT settled_dropped_databases bigint,
	OUT unsaved_exits bigint,
	OUT last_unsaved_exit_epoch timestamptz,
	OUT written_to_server_log bigint)
	RETURNS record
	LANGUAGE C VOLATILE STRICT
	AS 'MODULE_PATHNAME', 'cg_audit_queue_status';
COMMENT ON FUNCTION childguard.audit_queue_status() IS
	'The shared audit queue: its epoch (this initialisation of shared memory), records and bytes queued now, records carried over from before the last crash or shutdown, saved records that could not be queued again, records of dropped databases settled to the server log, how many postmasters ended without saving their queue (records then possibly lost), and records the writers could not write, written to the server log instead (since this initialisation).';

CREATE VIEW childguard.audit_queue_status AS
	SELECT * FROM childguard.audit_queue_status();
COMMENT ON VIEW childguard.audit_queue_status IS
	'One row: the audit queue now and what happened to queued records across crashes, shutdowns and dropped databases. not_carried_over, unsaved_exits, settled_dropped_databases and written_to_server_log above zero mean records that are not in childguard.access_log (see the server log).';

REVOKE ALL ON FUNCTION childguard.audit_queue_status() FROM PUBLIC;
REVOKE ALL ON childguard.audit_queue_status FROM PUBLIC;

CREATE FUNCTION childguard.audit_queue_databases(
	OUT database oid,
	OUT queued_records bigint,
	OUT awaited_records bigint,
	OUT writer_pid integer,
	OUT dropped boolean)
	RETURNS SETOF record
	LANGUAGE C VOLATILE STRICT
	AS 'MODULE_PATHNAME', 'cg_audit_queue_databases';
COMMENT ON FUNCTION childguard.audit_queue_databases() IS
	'Per database with records in the audit queue or a running writer: records queued, records a session waits for (audit_sync), the writer''s process id (NULL: none running), and whether the database was dropped (its records settled to the server log).';
REVOKE ALL ON FUNCTION childguard.audit_queue_databases() FROM PUBLIC;
