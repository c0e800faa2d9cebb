// One conversion by a peer of ingot, for bench_peers.sh: DuckDB (@duckdb/node-api) or
// Polars (nodejs-polars), each the way its documentation streams a file to a file.
//
//   INGOT_PEERS_NODE_DIR=DIR node run_peer.mjs duckdb|polars proj4|full|csv IN OUT THREADS [FIELDS]
//
// proj4: NDJSON -> CSV with the FIELDS (comma-separated) only; full: NDJSON -> CSV, all
// columns; csv: CSV -> NDJSON. The peer runs on THREADS threads: DuckDB's `threads`
// setting; for Polars the script sets POLARS_MAX_THREADS before node starts, since Polars
// reads it once, when its thread pool starts. The packages are looked up in
// DIR/node_modules (bench_peers.sh installs them there from package.json beside this
// file). DuckDB's COPY says how many rows it wrote: that goes to stderr as `rows N`.
import { createRequire } from 'node:module';
import path from 'node:path';

const [tool, kase, input, output, threads, fields] = process.argv.slice(2);
if (!tool || !kase || !input || !output || !threads) {
  console.error('usage: run_peer.mjs duckdb|polars proj4|full|csv IN OUT THREADS [FIELDS]');
  process.exit(2);
}
const nodeDir = process.env.INGOT_PEERS_NODE_DIR;
if (!nodeDir) {
  console.error('run_peer: set INGOT_PEERS_NODE_DIR to the directory holding node_modules');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const cols = kase === 'proj4' ? (fields || '').split(',').filter(Boolean) : [];
if (kase === 'proj4' && cols.length === 0) {
  console.error('run_peer: proj4 needs FIELDS');
  process.exit(2);
}

// SQL string literal and identifier quoting.
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

async function duckdb() {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await db.connect();
  let sql;
  if (kase === 'csv') {
    sql = `COPY (SELECT * FROM read_csv(${lit(input)})) TO ${lit(output)} (FORMAT json)`;
  } else {
    const select = kase === 'proj4' ? cols.map(ident).join(', ') : '*';
    sql = `COPY (SELECT ${select} FROM read_json(${lit(input)}, format = 'newline_delimited')) ` +
          `TO ${lit(output)} (FORMAT csv, HEADER)`;
  }
  const reader = await con.runAndReadAll(sql);
  const rows = reader.getRows();
  console.error(`rows ${rows.length ? String(rows[0][0]) : '?'}`);
}

function polars() {
  const pl = require('nodejs-polars');
  if (kase === 'csv') {
    pl.scanCSV(input).sinkNdJson(output).collectSync();
  } else {
    let lf = pl.scanJson(input);
    if (kase === 'proj4') lf = lf.select(...cols);
    lf.sinkCSV(output).collectSync();
  }
}

if (tool === 'duckdb') await duckdb();
else if (tool === 'polars') polars();
else {
  console.error(`run_peer: unknown tool '${tool}'`);
  process.exit(2);
}
