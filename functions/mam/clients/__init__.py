"""Adapters for the outside services, one module each: B2 (S3 API), TransloadIt, Twelve Labs and iconik."""
