// DuckDB's side of tests/bench/bench_parquet.sh, and the checks of both files. read_ndjson_auto:
// plain read_ndjson does not detect columns and reads each line as one JSON value.
//
//   node parquet_peer.mjs copy IN OUT THREADS   DuckDB: COPY (SELECT * FROM read_ndjson(IN)) TO OUT (parquet, zstd)
//   node parquet_peer.mjs check FILE            rows, the types and sums of vendorid, trip_distance,
//                                               total_amount and notes, as one JSON line
// Packages from INGOT_PEERS_NODE_DIR/node_modules (default tests/bench/peers).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [cmd, a, b, threads] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.INGOT_PEERS_NODE_DIR || path.join(here, 'peers');
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const lit = (s) => `'${s.replaceAll("'", "''")}'`;

const db = await DuckDBInstance.create(':memory:', { threads: String(threads || 2) });
const con = await db.connect();
if (cmd === 'copy') {
  // ignore_errors: the input has broken lines, which DuckDB would otherwise stop at.
  await con.run(`COPY (SELECT * FROM read_ndjson_auto(${lit(a)}, ignore_errors = true)) TO ${lit(b)} ` +
                `(FORMAT parquet, COMPRESSION zstd)`);
} else if (cmd === 'check') {
  const t = await con.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${lit(a)}))`);
  const types = Object.fromEntries(t.getRowsJS());
  const r = await con.runAndReadAll(
    `SELECT count(*)::VARCHAR, sum(vendorid)::VARCHAR, round(sum(trip_distance), 2)::VARCHAR, ` +
    `round(sum(total_amount), 2)::VARCHAR, count(notes)::VARCHAR FROM read_parquet(${lit(a)})`);
  const [rows, vendorid, trip, total, notes] = r.getRowsJS()[0];
  console.log(JSON.stringify({ rows, types: { vendorid: types.vendorid, trip_distance: types.trip_distance,
    total_amount: types.total_amount, notes: types.notes }, sum_vendorid: vendorid, sum_trip_distance: trip,
    sum_total_amount: total, notes_not_null: notes }));
} else {
  console.error('usage: parquet_peer.mjs copy IN OUT THREADS | check FILE');
  process.exit(2);
}
