"""The job tests' Python view of the ledger, whichever backend holds it.

connect(path) gives sqlite3's connection to the SQLite file, or, when the
test runs on PostgreSQL (PF_TEST_LEDGER=postgresql, the server lib.sh
started at $PG_DIR), an object with the same execute(sql, params) that runs
the query through psql. Only what the tests use: '?' placeholders, rows of
text and integers, NULL as None.
"""
import os
import sqlite3
import subprocess


def _literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def _value(text):
    if text == "":
        return None
    if text.lstrip("-").isdigit() and len(text) < 19:
        return int(text)
    return text


class _Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


class _Postgres:
    def __init__(self, sock):
        self.sock = sock

    def execute(self, sql, params=()):
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError("placeholders and parameters differ: " + sql)
        text = parts[0] + "".join(_literal(p) + rest for p, rest in zip(params, parts[1:]))
        out = subprocess.run(["psql", "-h", self.sock, "-U", "preflight", "-d", "preflight",
                              "-XAtq", "-F", "\t", "-c", text],
                             capture_output=True, text=True, check=True).stdout
        return _Rows(tuple(_value(v) for v in line.split("\t"))
                     for line in out.splitlines())


Error = (sqlite3.Error, subprocess.CalledProcessError)


def connect(path):
    if os.environ.get("PF_TEST_LEDGER") == "postgresql":
        return _Postgres(os.path.join(os.environ["PG_DIR"], "sock"))
    return sqlite3.connect(path, timeout=30)
