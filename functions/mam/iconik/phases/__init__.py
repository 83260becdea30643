"""The phases of a run, one module each (see `mam.iconik.machine` for the order and the step protocol).

Each exposes `advance(step) -> (next phase, delay in seconds)`, changing `step.run` in place; work stops when
`step.time_left()` runs out and resumes in the next step from what the record says.
"""
