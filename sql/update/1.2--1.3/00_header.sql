/* childguard 1.2 -> 1.3 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.3'" to load this file. \quit
