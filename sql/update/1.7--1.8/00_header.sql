/* childguard 1.7 -> 1.8 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.8'" to load this file. \quit
