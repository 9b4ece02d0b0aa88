"""A separate process that writes decisions into a store: used by the reliability tests.

    python tests/store_writer.py URL REPORT_JSON NAME COUNT     (COUNT 0: until killed)

Prints each decision's id after its transaction committed, one per line, flushed.
"""

import sys

from screening.decisions.model import make_decision
from screening.decisions.store import open_store
from screening.report.model import Report


def main(url: str, report_path: str, name: str, count: int) -> None:
    with open(report_path) as file:
        report = Report.model_validate_json(file.read())
    with open_store(url) as store:
        store.add_report(report)
        i = 0
        while count == 0 or i < count:
            flag = report.flags[i % len(report.flags)]
            record = store.record_decision(
                make_decision(
                    report_id=report.report_id,
                    rule_id=flag.rule_id,
                    participant=flag.participant,
                    outcome="noted",
                    reviewer=name,
                    note=str(i),
                )
            )
            print(record.decision_id, flush=True)
            i += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
