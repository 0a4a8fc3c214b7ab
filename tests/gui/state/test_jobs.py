"""Job routing without Qt: results reach the handler that submitted the job."""

from __future__ import annotations

from nlsn_gui.state.jobs import Job, JobRouter


def test_results_go_to_their_own_handlers_and_open_supersedes_upscale():
    router, got = JobRouter(), []
    assert router.add(1, Job("upscale", "Upscaling ×2", done=lambda r: got.append(("up", r)))) == []
    assert router.add(2, Job("view", "Attention view", window=False, done=lambda r: got.append(("view", r)))) == []
    assert router.add(3, Job("open", "Opening a.png", done=lambda r: got.append(("open", r)))) == [1]  # to cancel
    assert router.window_jobs() == [1, 3]
    router.started(3)
    router.finished(2, "v")
    router.cancelled(1)
    router.finished(3, "doc")
    assert got == [("view", "v"), ("open", "doc")]
    assert router.idle and router.finished(3, "again") is None  # a late or unknown id is ignored


def test_failures_and_progress_reach_the_job():
    router, seen = JobRouter(), []
    router.add(7, Job("batch", "Batch in", failed=seen.append, progress=lambda f, m, eta: seen.append((f, m))))
    router.progressed(7, 0.5, "1/2 a.png", float("nan"))
    router.failed(7, "in: no such folder")
    assert seen == [(0.5, "1/2 a.png"), "in: no such folder"] and router.idle


def test_what_waits_behind_a_training_run():
    router = JobRouter()
    router.add(1, Job("train", "Training", window=False))
    router.started(1)
    router.add(2, Job("upscale", "Upscaling ×2"))
    router.add(3, Job("view", "Attention view", window=False))
    assert [jid for jid in (1, 2, 3, 99) if router.waits(jid, besides="train")] == [2, 99]  # 99: not routed here
    router.started(2)
    assert not router.waits(2, besides="train")
