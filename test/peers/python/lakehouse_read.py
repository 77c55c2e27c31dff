"""Reads every table of a lakehouse directory (<data_dir>/lakehouse/tables/<table>/robot=<id>/date=<d>/*.parquet)
with pyarrow and with a fresh in-memory DuckDB's read_parquet over the Hive layout, and prints JSON per table:
pyarrow's schema of each file (column -> arrow type) and its row count, and DuckDB's rows with every column cast
to VARCHAR, sorted, so that a test can compare them with what `auraison-edge query` gives."""

import json
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def main(tables_dir):
    out = {'duckdb_version': duckdb.__version__, 'tables': {}}
    for table in sorted(p for p in Path(tables_dir).iterdir() if p.is_dir()):
        files = sorted(table.rglob('*.parquet'))
        schemas = {}
        for f in files:
            for field in pq.read_schema(f):
                schemas.setdefault(field.name, set()).add(str(field.type))
        rows = ds.dataset(str(table), format='parquet', partitioning='hive').count_rows()
        con = duckdb.connect()
        source = f"read_parquet('{table}/**/*.parquet', hive_partitioning = true, union_by_name = true)"
        columns = [r[0] for r in con.sql(f'DESCRIBE SELECT * FROM {source}').fetchall()]
        select = ', '.join(f'"{c}"::VARCHAR AS "{c}"' for c in columns)
        values = con.sql(f'SELECT {select} FROM {source} ORDER BY ALL').fetchall()
        out['tables'][table.name] = {
            'files': len(files), 'pyarrow_rows': rows,
            'pyarrow_schema': {k: sorted(v) for k, v in schemas.items()},
            'columns': columns, 'rows': [list(r) for r in values],
        }
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1])
