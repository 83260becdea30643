"""Video intelligence: a summary, chapters, highlights, a title suggestion, topics and hashtags (ONE Twelve Labs
analyze per video version) and the transcript (ONE retrieve), generated through Cloud Tasks once a video is Ready.

`record` (the stored `insights/{video_id}`), `states` (who may move it where), `schema` (what we ask for and how
the answer is checked), `worker` (the task handlers), `start` (queue a run: Ready, regenerate), `budget` (the daily
cap), `tags` (the tag rules), `vtt` (transcript -> WebVTT), `views` (the JSON of GET /videos/{id}/insights).
"""
