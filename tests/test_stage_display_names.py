"""Display names through the real stage: the identity directory's person name wins over the platform's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tests.pipeline_harness import envelope
from valuenet.analytics.storage.reader import Reader
from valuenet.config import Settings
from valuenet.pipeline.wiring import build_stage

if TYPE_CHECKING:
    from valuenet.analytics.storage.chdb_store import ChdbStore

FIX = Path(__file__).parent / "payloads"
NET = "names"
DIRECTORY = """
people:
  - person: p00081
    name: Dara Dubois
    accounts: "slack:U0002"
  - person: p00082
    name: Noor Nakamura
    accounts: "slack:U0004"
  - person: p00083
    name: Cemal Ceylan
    accounts: "mastodon:cem@other.example"
  - person: p00084
    accounts: "mastodon:ann@mastodon.example"
"""


def _payload(path: str) -> dict:
    return json.loads((FIX / path).read_text(encoding="utf-8"))


def test_directory_person_name_wins_in_stored_display_names(tmp_path: Path, chdb_store: ChdbStore) -> None:
    directory = tmp_path / "directory.yaml"
    directory.write_text(DIRECTORY)
    stage = build_stage(Settings(directory_path=directory))
    # Slack: U0002 replies to U0001 (no directory entry) and mentions U0004; Slack events carry no names.
    # Mastodon: cem ("Cem" on the platform) favourites ann ("Ann"; a directory person without a name).
    out = stage.process(
        [
            envelope("slack", NET, _payload("slack/thread_reply.json")),
            envelope("mastodon", NET, _payload("mastodon/notification_favourite.json")),
        ]
    )
    assert not out.dead
    givers = {f.giver for f in out.flows}
    assert givers == {"person:p00081", "person:p00083"}
    rows = {r["actor"]: r["display_name"] for r in out.directory}
    assert rows == {
        "person:p00081": "Dara Dubois",  # no platform name: the directory's
        "person:p00082": "Noor Nakamura",  # a named directory person who only receives
        "person:p00083": "Cemal Ceylan",  # the directory's name beats the platform's "Cem"
    }
    chdb_store.write("directory", out.directory)
    chdb_store.write_models("flows", out.flows)
    names = Reader(chdb_store).display_names(NET)
    assert names == rows
    assert "slack:U0001" not in names and "person:p00084" not in names

    # the same actors again: no new rows; a directory rename re-emits the renamed person's row
    assert stage.process([envelope("slack", NET, _payload("slack/thread_reply.json"))]).directory == []
    directory.write_text(DIRECTORY.replace("Dara Dubois", "Dara Dubois-Lee"))
    st = directory.stat()
    os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    stage.identity.reload()
    renamed = stage.identity_updates()
    assert [(r["actor"], r["display_name"]) for r in renamed] == [("person:p00081", "Dara Dubois-Lee")]
    chdb_store.write("directory", renamed)
    assert Reader(chdb_store).display_names(NET)["person:p00081"] == "Dara Dubois-Lee"


def test_platform_name_stays_without_a_directory_entry() -> None:
    stage = build_stage(Settings())
    out = stage.process([envelope("mastodon", NET, _payload("mastodon/notification_favourite.json"))])
    assert [(r["actor"], r["display_name"]) for r in out.directory] == [("mastodon:cem@other.example", "Cem")]
