-- Citus scale-out (docs/scale-out.md): on a coordinator, each child_data
-- value written to a distributed protected table is sealed for its child
-- by this function before Citus sends the write to a worker
-- (src/enforce/citus_seal.c).  STABLE so that Citus evaluates it once on
-- the coordinator (Citus refuses VOLATILE functions in UPDATE); it checks
-- collection like the seal trigger.  Executable by every role that may
-- write to a protected table, like the seal trigger's function.
CREATE FUNCTION childguard._seal_for(tbl oid, child text, attnum integer,
                                     value childguard.child_data)
	RETURNS childguard.child_data
	LANGUAGE C STABLE PARALLEL UNSAFE CALLED ON NULL INPUT
	AS 'MODULE_PATHNAME', 'cg_seal_for';
COMMENT ON FUNCTION childguard._seal_for(oid, text, integer, childguard.child_data) IS
	'Internal (Citus coordinator): the value for column attnum of protected table tbl, sealed for child (a typed-in value is collected: purpose, necessity and consent are checked as by the seal trigger; a sealed value must already belong to that child and category). childguard''s rewrite of writes to distributed tables calls it.';
