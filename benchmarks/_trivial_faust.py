"""A trivial faust agent on a given topic: the baselines for the pipeline benchmark.

Env: BENCH_TOPIC, BENCH_EXPECT, BENCH_APP, KAFKA_BOOTSTRAP_SERVERS, BENCH_DECODE. It counts
records (one event per record), or with ``BENCH_DECODE=1`` decodes each record's JSON (one
envelope or a packed array) and counts the envelopes: the Python + faust + JSON floor of the
pipeline on the same packed records. Prints one JSON line {"first": t, "last": t, "count": n}
(wall clock seconds) and exits.
"""

import json
import os
import time

import faust

expect = int(os.environ["BENCH_EXPECT"])
decode = os.environ.get("BENCH_DECODE") == "1"
app = faust.App(
    os.environ["BENCH_APP"],
    broker="kafka://" + os.environ["KAFKA_BOOTSTRAP_SERVERS"],
    store="memory://",
    value_serializer="raw",
    key_serializer="raw",
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    datadir=os.environ.get("BENCH_DATADIR", "/tmp/vn-bench-faust"),
)
topic = app.topic(os.environ["BENCH_TOPIC"], value_type=bytes, key_type=bytes)
state = {"first": 0.0, "count": 0}


@app.agent(topic)
async def count(stream):
    async for value in stream:
        if state["count"] == 0:
            state["first"] = time.time()
        if decode:
            doc = json.loads(value)
            state["count"] += len(doc) if isinstance(doc, list) else 1
        else:
            state["count"] += 1
        if state["count"] >= expect:
            print(json.dumps({"first": state["first"], "last": time.time(), "count": state["count"]}), flush=True)
            os._exit(0)


if __name__ == "__main__":
    from faust.worker import Worker

    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()
