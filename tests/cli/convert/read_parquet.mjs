// Reads a Parquet file back with an independent reader, for tests/cli/convert/test_parquet.cpp.
//
//   node read_parquet.mjs duckdb|polars FILE   -> {"columns": [[name, type]...], "rows": [[value...]...]}
//   node read_parquet.mjs meta FILE            -> DuckDB's parquet_metadata(): row groups and statistics
//
// Types are named as ingot names them (INT64, DOUBLE, BOOLEAN, STRING); an INT64 value is
// printed as a decimal string (JavaScript numbers cannot hold every int64), a DOUBLE as
// a JSON number (shortest text that reads back as the same double). The packages come
// from INGOT_PEERS_NODE_DIR/node_modules (default: tests/bench/peers, where
// scripts/install-test-readers.sh installs the pinned versions).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [tool, file] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.INGOT_PEERS_NODE_DIR || path.join(here, '..', '..', 'bench', 'peers');
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const lit = (s) => `'${s.replaceAll("'", "''")}'`;

function norm(v) {
  if (typeof v === 'bigint') return v.toString();
  return v;
}

async function duck(sql) {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  return con.runAndReadAll(sql);
}

async function duckdb() {
  const r = await duck(`SELECT * FROM read_parquet(${lit(file)})`);
  const names = { BIGINT: 'INT64', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN', VARCHAR: 'STRING' };
  const columns = r.columnNames().map((n, i) => [n, names[String(r.columnTypes()[i])] || String(r.columnTypes()[i])]);
  const rows = r.getRowsJS().map((row) => row.map(norm));
  return { columns, rows };
}

async function meta() {
  const r = await duck(
    `SELECT row_group_id, path_in_schema, num_values, stats_min_value, stats_max_value, stats_null_count, ` +
      `compression, encodings FROM parquet_metadata(${lit(file)}) ORDER BY row_group_id, column_id`);
  return { chunks: r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, norm(v)]))) };
}

function polars() {
  const pl = require('nodejs-polars');
  let df = pl.readParquet(file);
  const names = { Int64: 'INT64', Float64: 'DOUBLE', Bool: 'BOOLEAN', String: 'STRING', Utf8: 'STRING' };
  const columns = df.columns.map((n) => {
    const t = df.getColumn(n).dtype.variant || String(df.getColumn(n).dtype);
    return [n, names[t] || t];
  });
  // Int64 -> string keeps every digit.
  const ints = columns.filter(([, t]) => t === 'INT64').map(([n]) => n);
  if (ints.length) df = df.withColumns(...ints.map((n) => pl.col(n).cast(pl.Utf8)));
  const recs = df.toRecords();
  const rows = recs.map((rec) => df.columns.map((n) => (rec[n] === undefined ? null : rec[n])));
  return { columns, rows };
}

try {
  let out;
  if (tool === 'duckdb') out = await duckdb();
  else if (tool === 'polars') out = polars();
  else if (tool === 'meta') out = await meta();
  else throw new Error('usage: read_parquet.mjs duckdb|polars|meta FILE');
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  process.stderr.write(`read_parquet ${tool}: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}
