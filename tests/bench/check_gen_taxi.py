#!/usr/bin/python3
"""Sanity checks for gen_taxi output (standard library only).

  check_gen_taxi.py FILE.ndjson [--broken-rate 0.001]
  check_gen_taxi.py FILE.csv
  check_gen_taxi.py --same FILE.ndjson FILE.csv   (same gen_taxi arguments)

NDJSON: every non-blank line must either parse as a JSON object with the
expected keys in the expected order, or be a deliberately broken line (fails
to parse, or is not an object). Reports counts, key union and rates.
CSV: header + consistent field count (csv module, RFC 4180 quoting).
--same: the CSV rows are the valid NDJSON records, in order, same values.
"""
import collections
import csv
import json
import sys

KEYS = [
    "vendorid", "tpep_pickup_datetime", "tpep_dropoff_datetime", "passenger_count",
    "trip_distance", "ratecodeid", "store_and_fwd_flag", "pulocationid", "dolocationid",
    "payment_type", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
    "improvement_surcharge", "total_amount", "congestion_surcharge", "airport_fee",
    "notes", "meta",
]
INTS = {"vendorid", "pulocationid", "dolocationid", "payment_type"}
NULLABLE_INTS = {"passenger_count", "ratecodeid"}
FLOATS = {"trip_distance", "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount",
          "improvement_surcharge", "total_amount", "congestion_surcharge", "airport_fee"}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check_ndjson(path, broken_rate):
    ok = blank = 0
    broken = collections.Counter()
    union = {}
    no_airport = meta = special = nulls = sci = negative = 0
    lengths = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                fail(f"line {lineno}: no trailing newline")
            line = raw[:-1]
            if not line:
                blank += 1
                continue
            try:
                obj = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                broken["bad-utf8 (truncated)"] += 1
                continue
            except json.JSONDecodeError as e:
                broken[e.msg] += 1
                continue
            if not isinstance(obj, dict):
                broken["not an object: " + type(obj).__name__] += 1
                continue
            ok += 1
            lengths += len(raw)
            keys = list(obj)
            for k in keys:
                union.setdefault(k, lineno)
            expect = [k for k in KEYS if k in obj]
            if keys != expect:
                fail(f"line {lineno}: key order {keys}")
            missing = set(KEYS) - set(keys) - {"meta", "airport_fee"}
            if missing:
                fail(f"line {lineno}: missing {missing}")
            no_airport += "airport_fee" not in obj
            if "meta" in obj:
                meta += 1
                if obj["meta"] != {"src": "x", "v": 2}:
                    fail(f"line {lineno}: meta {obj['meta']}")
            for k in INTS:
                if type(obj[k]) is not int:
                    fail(f"line {lineno}: {k}={obj[k]!r}")
            for k in NULLABLE_INTS:
                if obj[k] is not None and type(obj[k]) is not int:
                    fail(f"line {lineno}: {k}={obj[k]!r}")
            nulls += obj["passenger_count"] is None
            for k in FLOATS:
                if k in obj and obj[k] is not None and type(obj[k]) is not float:
                    fail(f"line {lineno}: {k}={obj[k]!r} not float")
            if b"e-0" in line:
                sci += 1
            if obj["total_amount"] < 0:
                negative += 1
            n = obj["notes"]
            if any(c in n for c in "\",\n\t") or not n.isascii():
                special += 1
            if obj["store_and_fwd_flag"] not in ("N", "Y"):
                fail(f"line {lineno}: store_and_fwd_flag")
    total = ok + blank + sum(broken.values())
    nb = sum(broken.values())
    print(f"lines={total} records={ok} blank={blank} ({blank/total:.4%}) broken={nb} ({nb/total:.4%})")
    print(f"avg record bytes={lengths/ok:.1f}")
    for k, v in broken.most_common():
        print(f"   broken: {v:6d}  {k}")
    print(f"no airport_fee={no_airport/ok:.3%} meta={meta/ok:.3%} special notes={special/ok:.3%} "
          f"null passenger_count={nulls/ok:.3%} exponent floats={sci/ok:.3%} refunds={negative/ok:.3%}")
    print("key union (first line seen):", ", ".join(f"{k}@{v}" for k, v in union.items()))
    if list(union) != KEYS:
        fail(f"key union {list(union)}")
    if broken_rate > 0 and total > 100000 and not (0.7 * broken_rate < nb / total < 1.3 * broken_rate):
        fail(f"broken rate {nb/total} far from {broken_rate}")
    print("OK")


def check_csv(path):
    rows = 0
    multiline = 0
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f, strict=True)
        header = next(r)
        if header != KEYS:
            fail(f"header {header}")
        for row in r:
            rows += 1
            if len(row) != len(KEYS):
                fail(f"record {rows}: {len(row)} fields: {row}")
            if "\n" in row[19]:
                multiline += 1
            if row[20] and json.loads(row[20]) != {"src": "x", "v": 2}:
                fail(f"record {rows}: meta {row[20]!r}")
            float(row[16])  # total_amount always present
    print(f"csv records={rows} fields={len(KEYS)} notes with newline={multiline}")
    print("OK")


def json_to_csv_text(k, v):
    """How gen_taxi writes a JSON value into its CSV output."""
    if v is None:
        return ""
    if k == "meta":
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, float):
        return repr(v)
    return str(v)


def check_same(ndjson_path, csv_path):
    n = 0
    with open(ndjson_path, "rb") as fj, open(csv_path, newline="", encoding="utf-8") as fc:
        rows = csv.reader(fc, strict=True)
        if next(rows) != KEYS:
            fail("csv header")
        for raw in fj:
            try:
                obj = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                continue
            if not isinstance(obj, dict):
                continue
            row = next(rows, None)
            if row is None:
                break  # csv is shorter in records only if sizes differ
            want = [json_to_csv_text(k, obj.get(k)) for k in KEYS]
            if row != want:
                fail(f"record {n + 1} differs:\n  json {want}\n  csv  {row}")
            n += 1
    print(f"same: {n} records identical")
    print("OK")


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    if args[0] == "--same":
        check_same(args[1], args[2])
        return
    rate = 0.001
    if "--broken-rate" in args:
        i = args.index("--broken-rate")
        rate = float(args[i + 1])
        del args[i:i + 2]
    if args[0].endswith(".csv"):
        check_csv(args[0])
    else:
        check_ndjson(args[0], rate)


if __name__ == "__main__":
    main()
