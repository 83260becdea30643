"""Indexing videos with Twelve Labs: select and mark (`start`), submit and follow through Cloud Tasks (`worker`),
finish at once from a webhook (`webhook`); pure rules in `states` and `schedule`.

Flow: POST /index -> Sending + one submit task per video -> submit creates the Twelve Labs task from a presigned
B2 URL -> follow tasks poll on a growing schedule (writes only on change) -> ready: thumbnail copied to B2, Ready;
failed: Failed with the reason; deadline: Failed "timed out". The webhook finishes a video as soon as Twelve Labs
says so; the follow chain stays as the safety net and stops when it sees the video finished.
"""
