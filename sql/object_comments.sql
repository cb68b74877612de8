-- COMMENT ON every object (issue 13, item 7): each function, procedure,
-- aggregate, table, view, sequence (other than an identity column's) and
-- type of the extension's schema has a comment.  A helper that adds an
-- object without one makes this test fail, naming it.
-- (On the old code: 45 functions had none.)
SELECT 'function ' || p.oid::regprocedure AS missing_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'childguard'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                      WHEN 'S' THEN 'sequence ' ELSE 'table ' END || c.oid::regclass
  FROM pg_class c
 WHERE c.relnamespace = 'childguard'::regnamespace
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND obj_description(c.oid, 'pg_class') IS NULL
   AND NOT EXISTS (SELECT 1 FROM pg_depend d              -- an identity column's sequence
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'type ' || t.oid::regtype
  FROM pg_type t
 WHERE t.typnamespace = 'childguard'::regnamespace
   AND t.typtype IN ('b', 'd', 'e', 'r', 'm') AND t.typcategory <> 'A'
   AND obj_description(t.oid, 'pg_type') IS NULL
ORDER BY 1;
