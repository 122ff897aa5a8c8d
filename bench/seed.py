#!/usr/bin/env python3
"""Grows a stopped grantd's store for the scale runs of bench/run.sh (SEED=N).

  seed.py sqlite PATH_TO_grantd.db SESSIONS TOKENS APPS
  seed.py postgres DATABASE_URL    SESSIONS TOKENS APPS

Adds APPS apps, SESSIONS live sessions (spread over apps and 100,000 user
ids) and TOKENS refresh tokens (one per session, round-robin) in one
transaction, each a copy of a row grantd itself wrote (so every column,
whatever the migrations added, holds a value grantd accepts), with new keys
and fresh random token hashes. The rows are not usable for requests; they are
there to make every index and every query grantd runs carry the weight of a
large store. Writes in bulk with INSERT ... SELECT, so 10^6 rows take seconds.
"""
import sqlite3
import subprocess
import sys

# Per table: the columns given new values (SQL expressions over the row
# number n); every other column is copied from the template row.
def expressions(backend, apps):
    blob = "randomblob(32)" if backend == "sqlite" else "decode(md5(random()::text) || md5(n::text), 'hex')"
    return {
        "apps": {"client_id": "'seedapp' || n", "name": "'Seed app ' || n"},
        "sessions": {
            "id": "'seedsession' || n",
            "user_id": "'seeduser' || (n % 100000)",
            "client_id": "'seedapp' || (n %% %d)" % apps,
            "ended_at": "NULL",
        },
        "tokens": {
            "hash": blob,
            "id": "'seedtoken' || n",
            "session_id": "'seedsession' || (n % {sessions})",
            "client_id": "'seedapp' || (n %% %d)" % apps,
        },
    }


def columns_sqlite(db, table):
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def statement(backend, table, cols, exprs, count, template_where):
    select = ", ".join(exprs.get(c, c) for c in cols)
    if backend == "sqlite":
        series = f"WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < {count}) "
        source = f"s, (SELECT * FROM {table} WHERE {template_where} LIMIT 1)"
        return f"INSERT INTO {table} ({', '.join(cols)}) {series}SELECT {select} FROM {source}"
    source = f"generate_series(0, {count - 1}) AS n, (SELECT * FROM {table} WHERE {template_where} LIMIT 1) AS t"
    return f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {source}"


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("sqlite", "postgres"):
        sys.exit(__doc__)
    backend, target = sys.argv[1], sys.argv[2]
    sessions, tokens, apps = (int(a) for a in sys.argv[3:6])
    exprs = expressions(backend, max(apps, 1))
    exprs["tokens"]["session_id"] = exprs["tokens"]["session_id"].format(sessions=max(sessions, 1))
    plan = [
        ("apps", apps, "1 = 1"),
        ("sessions", sessions, "ended_at IS NULL"),
        ("tokens", tokens, "kind = 'refresh'"),
    ]
    if backend == "sqlite":
        db = sqlite3.connect(target, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("BEGIN IMMEDIATE")
        for table, count, where in plan:
            if count <= 0:
                continue
            if db.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0] == 0:
                sys.exit(f"seed.py: no {table} row ({where}) to copy: open one session first")
            db.execute(statement(backend, table, columns_sqlite(db, table), exprs[table], count, where))
        db.execute("COMMIT")
        db.execute("ANALYZE")
        for table, _, _ in plan:
            n = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            print(f"seed.py: {table}: {n} rows", file=sys.stderr)
        db.close()
    else:
        sql = ["BEGIN;"]
        for table, count, where in plan:
            if count <= 0:
                continue
            cols = subprocess.run(
                ["psql", "-qAt", target, "-c",
                 f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' "
                 "AND table_schema = current_schema() ORDER BY ordinal_position"],
                check=True, capture_output=True, text=True).stdout.split()
            sql.append(statement(backend, table, cols, exprs[table], count, where) + ";")
        sql.append("COMMIT; ANALYZE;")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", target], input="\n".join(sql), check=True, text=True)


if __name__ == "__main__":
    main()
