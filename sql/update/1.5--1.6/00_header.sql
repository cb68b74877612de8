/* childguard 1.5 -> 1.6 — the upgrade script, one concern per part */
\echo Use "ALTER EXTENSION childguard UPDATE TO '1.6'" to load this file. \quit
