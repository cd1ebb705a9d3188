-- store-gin.sql — makes FerretDB's indexes usable on PostgreSQL (installed by services.sh into
-- the database FerretDB uses; idempotent).
--
-- FerretDB v1 pushes a top-level equality down as `_jsonb->'f' @> $1`, but the indexes its
-- createIndexes makes are btree indexes on `(_jsonb->'f')`, which cannot serve `@>`. This
-- event trigger watches every CREATE INDEX and, for each top-level field of a btree index on a
-- table with a `_jsonb` column, adds `USING gin ((_jsonb->'f') jsonb_path_ops)` beside it, so
-- every index any lineage database or collection asks for (and `_id`, which FerretDB indexes at
-- collection creation) serves the queries. Dotted fields are pushed down as `#>` and are left
-- alone. Fields lineage reads only by range or order (ts, seq, started_at, start, open, seq_first, ts_first:
-- FerretDB pushes no range down, so a GIN index on them would serve nothing) get none: every
-- GIN index costs each insert. The GIN indexes are invisible to listIndexes and go with their table when FerretDB
-- drops the collection.

CREATE OR REPLACE FUNCTION lineage_gin_for_ferretdb_index() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
	cmd record;
	idx record;
	k int;
	expr text;
	field text;
	gin_name text;
BEGIN
	FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() WHERE object_type = 'index' LOOP
		SELECT i.indexrelid, i.indrelid, i.indnatts, c.relname AS tbl, n.nspname AS nsp, am.amname
		  INTO idx
		  FROM pg_index i
		  JOIN pg_class ic ON ic.oid = i.indexrelid
		  JOIN pg_am am ON am.oid = ic.relam
		  JOIN pg_class c ON c.oid = i.indrelid
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE i.indexrelid = cmd.objid;
		-- our own GIN indexes fire this trigger too: only btree indexes are mirrored
		CONTINUE WHEN NOT FOUND OR idx.amname <> 'btree';
		CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_attribute
					   WHERE attrelid = idx.indrelid AND attname = '_jsonb');
		FOR k IN 1..idx.indnatts LOOP
			expr := pg_get_indexdef(idx.indexrelid, k, true);
			field := substring(expr FROM '^\(?_jsonb -> ''((?:[^'']|'''')+)''::text\)?$');
			CONTINUE WHEN field IS NULL;
			field := replace(field, '''''', '''');
			CONTINUE WHEN field IN ('ts', 'seq', 'started_at', 'start', 'open', 'seq_first', 'ts_first');
			-- unique per table and field: FerretDB's table names of one session's output
			-- runs share their first 40 characters, and with a name taken from those
			-- a re-run's CREATE INDEX IF NOT EXISTS found the previous run's index and
			-- skipped: the new output had no GIN index at all
			gin_name := left(idx.tbl, 30) || '_' || left(md5(idx.nsp || '.' || idx.tbl || '.' || field), 16) || '_gin';
			EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((_jsonb -> %L) jsonb_path_ops)',
				       gin_name, idx.nsp, idx.tbl, field);
		END LOOP;
	END LOOP;
END;
$$;

DROP EVENT TRIGGER IF EXISTS lineage_gin_for_ferretdb_index;
CREATE EVENT TRIGGER lineage_gin_for_ferretdb_index ON ddl_command_end
	WHEN TAG IN ('CREATE INDEX')
	EXECUTE FUNCTION lineage_gin_for_ferretdb_index();
