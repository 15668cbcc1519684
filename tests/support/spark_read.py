"""Read an OneGrid archive folder with Apache Spark (local mode) and print, as JSON, the counts
per day and source and one typed row. Run as its own process by tests/test_archive_spark.py:
Spark's launcher forks and runs Python in the child before exec, which is unsafe inside a test
process full of threads (it crashed there once), and harmless in a fresh one.

    python -m tests.support.spark_read ARCHIVE_FOLDER   (from the repository's folder)
"""

from __future__ import annotations

import json
import os
import sys


def main(root: str) -> None:
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("onegrid-archive-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "512m")
        .getOrCreate()
    )
    try:
        df = spark.read.parquet(root)  # partitions discovered from the paths
        got = (
            df.groupBy("date", "source")
            .agg(F.count("*").alias("n"), F.countDistinct("source_event_id").alias("ids"))
            .orderBy("date", "source")
            .collect()
        )
        counts = [[str(r["date"]), r["source"], r["n"], r["ids"]] for r in got]
        # the columns arrive typed: event time as a timestamp inside its partition's day
        row = (
            df.where(F.col("date") == F.lit(got[0]["date"]))
            .select(F.to_date("event_time").alias("d"), "date", "cell_key", "attributes")
            .first()
        )
        typed = {
            "same_day": row["d"] == row["date"],
            "cell_key_int": isinstance(row["cell_key"], int),
        }
        print(json.dumps({"counts": counts, "typed": typed}))
    finally:
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
