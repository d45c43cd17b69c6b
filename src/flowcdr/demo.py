"""The main job until the gateway lands: parse a folder of flow logs and show what is in it.

``make run`` points it at the third-party conformance samples beside the repository. Every
file is parsed with the same code the gateway will use, the flows are written to
``build/run/flows.parquet``, and a summary is printed: per-file counts, then flows by kind and
decision, the busiest conversations and the most denied sources, computed by DuckDB over the
Arrow table.
"""

import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from flowcdr.formats import FLOW_SCHEMA, FormatError, parse_blob

SUMMARIES = {
    "Flows by kind and decision": """
        SELECT log_type, decision, count(*) AS flows,
               coalesce(sum(src_bytes + dst_bytes), 0) AS bytes
        FROM flows GROUP BY ALL ORDER BY flows DESC""",
    "Busiest conversations (bytes)": """
        SELECT src_ip, dst_ip, dst_port, protocol, sum(src_bytes + dst_bytes) AS bytes
        FROM flows WHERE src_bytes IS NOT NULL GROUP BY ALL ORDER BY bytes DESC LIMIT 5""",
    "Most denied sources": """
        SELECT src_ip, count(*) AS denied, count(DISTINCT dst_port) AS ports
        FROM flows WHERE decision = 'deny' GROUP BY ALL ORDER BY denied DESC LIMIT 5""",
}


def main(folder: Path, output: Path) -> int:
    console = Console()
    if not folder.is_dir():
        console.print(f"[red]{folder}: no such folder of flow logs[/red]")
        return 2
    files = Table(title=f"Flow-log files under {folder}")
    for column in ("file", "records", "flows", "rejected", "skipped", "note"):
        files.add_column(column)
    tables = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in (".json", ".log")):
        name = str(path.relative_to(folder))
        try:
            result = parse_blob(path.read_bytes(), source=name)
        except FormatError as error:
            files.add_row(name, "", "", "", "", error.detail[:60])
            continue
        report = result.report
        note = "cut" if report.cut else ""
        files.add_row(name, *map(str, (report.records, report.flows, report.rejected)),
                      str(report.skipped), note)  # fmt: skip
        tables.append(result.table)
    console.print(files)
    flows = pa.concat_tables(tables) if tables else FLOW_SCHEMA.empty_table()
    output.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(flows, output)
    console.print(f"{flows.num_rows} flows written to {output}")
    with duckdb.connect() as db:
        db.register("flows", flows)
        for title, query in SUMMARIES.items():
            answer = db.execute(query)
            shown = Table(title=title)
            for described in answer.description:
                shown.add_column(described[0])
            for row in answer.fetchall():
                shown.add_row(*(str(value) for value in row))
            console.print(shown)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
