"""The local B2: moto's S3 server behind a strict layer that checks SigV4 and refuses what Backblaze B2 refuses.

Run it with `python -m localdev.b2 --port N` (see __main__.py); facts and limits in docs/contracts/b2-s3.md.
"""
