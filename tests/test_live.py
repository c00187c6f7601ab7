"""LiveGraphs: per-network graphs ticked through an executor; actor rows throttled, network rows every tick."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from tests.pipeline_harness import envelope, git_records
from valuenet.analytics.live import LiveGraphs
from valuenet.config import Settings
from valuenet.pipeline.wiring import build_stage


def test_actor_rows_are_throttled_and_network_rows_carry_the_watermark() -> None:
    flows = build_stage(Settings()).process([envelope("git", "n", r) for r in git_records(300)]).flows
    live = LiveGraphs(Settings(windows=("3650d",), actor_snapshot_seconds=3600))

    async def run() -> list:
        with ThreadPoolExecutor(1) as pool:
            live.add_many(flows[:400])
            first = await live.tick(pool)
            live.add_many(flows[400:])
            second = await live.tick(pool)
            third = await live.tick(pool)  # quiet for a tick: the actor rows the second tick skipped, nothing else
            fourth = await live.tick(pool)  # still quiet: nothing to do
        return [first, second, third, fourth]

    first, second, third, fourth = asyncio.run(run())
    assert len(first[0].actors) > 10 and second[0].actors == []  # within the hour: no second actor snapshot
    assert fourth == []
    (quiet,) = third
    assert quiet.network == [] and quiet.tunnels == [] and quiet.events() == []
    assert {a.computed_at for a in quiet.actors} == {second[0].network[0].computed_at}  # the second tick's rows
    # every flow counted: the skipped rows hold the last batch (once only per actor)
    valued = [f for f in flows if f.receiver and f.receiver != f.giver]
    assert sum(a.out_knowledge + a.out_idea + a.out_reputation for a in quiet.actors) == len(valued)
    assert sum(a.out_knowledge + a.out_idea + a.out_reputation for a in first[0].actors) < len(valued)
    wm = max(f.timestamp for f in flows if f.receiver)  # the watermark counts every applied flow
    assert second[0].network[0].watermark_ms == int(max(f.timestamp for f in flows).timestamp() * 1000)
    assert second[0].network[0].watermark_ms >= int(wm.timestamp() * 1000)
    assert second[0].tick is not None and second[0].tick.network_metrics
