"""Scans one lakehouse table's parquet files (Hive layout) with pyarrow, as the read benchmark's baseline: reads
every file into one table and sums a list column, printing JSON {rows, sum, seconds} (seconds in-process)."""

import json
import sys
import time

import pyarrow.compute as pc
import pyarrow.dataset as ds

started = time.perf_counter()
table = ds.dataset(sys.argv[1], format='parquet', partitioning='hive').to_table()
total = pc.sum(pc.list_flatten(table.column(sys.argv[2]))).as_py()
json.dump({'rows': table.num_rows, 'sum': total, 'seconds': time.perf_counter() - started}, sys.stdout)
