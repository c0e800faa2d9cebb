// Reads a Parquet file back with an independent reader, for tests/cli/convert/test_parquet.cpp.
//
//   node read_parquet.mjs duckdb|polars FILE   -> {"columns": [[name, type]...], "rows": [[value...]...]}
//   node read_parquet.mjs meta FILE            -> DuckDB's parquet_metadata(): row groups and statistics
//
// Types are named as ingot names them (INT64, DOUBLE, BOOLEAN, STRING, DATE, TIMESTAMP,
// TIMESTAMPTZ); an INT64 value is printed as a decimal string (JavaScript numbers cannot
// hold every int64), a DOUBLE as a JSON number (shortest text that reads back as the
// same double), a DATE as YYYY-MM-DD and a TIMESTAMP as YYYY-MM-DDTHH:MM:SS.ffffff (a
// TIMESTAMPTZ in UTC, with a Z), from the reader's own day or microsecond count. The packages come
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

// Days since 1970-01-01 -> YYYY-MM-DD; microseconds since the epoch -> ISO text, exact.
const isoDate = (days) => new Date(Number(days) * 86400000).toISOString().slice(0, 10);
function isoMicros(us, zone) {
  us = BigInt(us);
  let s = us / 1000000n;
  if (s * 1000000n > us) s -= 1n;  // floor for times before 1970
  const frac = (us - s * 1000000n).toString().padStart(6, '0');
  return new Date(Number(s) * 1000).toISOString().slice(0, 19) + '.' + frac + (zone ? 'Z' : '');
}

async function duck(sql) {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await db.connect();
  return con.runAndReadAll(sql);
}

async function duckdb() {
  const r = await duck(`SELECT * FROM read_parquet(${lit(file)})`);
  const names = { BIGINT: 'INT64', DOUBLE: 'DOUBLE', BOOLEAN: 'BOOLEAN', VARCHAR: 'STRING', DATE: 'DATE',
    TIMESTAMP: 'TIMESTAMP', 'TIMESTAMP WITH TIME ZONE': 'TIMESTAMPTZ' };
  const columns = r.columnNames().map((n, i) => [n, names[String(r.columnTypes()[i])] || String(r.columnTypes()[i])]);
  // getRows() keeps DuckDB's own values (days, micros) where getRowsJS() would round to ms.
  const raw = r.getRows();
  const rows = r.getRowsJS().map((row, ri) => row.map((v, ci) => {
    const t = columns[ci][1];
    if (v === null) return null;
    if (t === 'DATE') return isoDate(raw[ri][ci].days);
    if (t === 'TIMESTAMP' || t === 'TIMESTAMPTZ') return isoMicros(raw[ri][ci].micros, t === 'TIMESTAMPTZ');
    return norm(v);
  }));
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
  const names = { Int64: 'INT64', Float64: 'DOUBLE', Bool: 'BOOLEAN', String: 'STRING', Utf8: 'STRING', Date: 'DATE' };
  const columns = df.columns.map((n) => {
    const dt = df.getColumn(n).dtype;
    const t = dt.variant || String(dt);
    if (t === 'Datetime') return [n, dt.timeUnit !== 'us' ? String(dt) : dt.timeZone === 'UTC' ? 'TIMESTAMPTZ' : 'TIMESTAMP'];
    return [n, names[t] || t];
  });
  // Int64 -> string keeps every digit; a date or timestamp as its day or microsecond count.
  const cast = columns.filter(([, t]) => ['INT64', 'DATE', 'TIMESTAMP', 'TIMESTAMPTZ'].includes(t)).map(([n, t]) =>
    (t === 'INT64' ? pl.col(n) : pl.col(n).cast(t === 'DATE' ? pl.Int32 : pl.Int64)).cast(pl.Utf8));
  if (cast.length) df = df.withColumns(...cast);
  const recs = df.toRecords();
  const rows = recs.map((rec) => df.columns.map((n, ci) => {
    const v = rec[n] === undefined ? null : rec[n];
    const t = columns[ci][1];
    if (v === null) return null;
    if (t === 'DATE') return isoDate(v);
    if (t === 'TIMESTAMP' || t === 'TIMESTAMPTZ') return isoMicros(v, t === 'TIMESTAMPTZ');
    return v;
  }));
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
