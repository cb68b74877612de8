/* childguard 1.1 -> 1.2 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.2'" to load this file. \quit
