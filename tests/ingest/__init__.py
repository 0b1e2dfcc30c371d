"""Tests of the ingest layer: type sniffing, Khmer normalisation, text extraction, thumbnails."""
