/* childguard 1.0 — the extension script */
\echo Use "CREATE EXTENSION childguard CASCADE" to load this file. \quit

