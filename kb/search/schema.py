"""The one search schema. Every indexed field is defined here and nowhere else."""
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

SCHEMA_VERSION = 1


def build_schema() -> Schema:
    text = StemmingAnalyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=text, field_boost=3.0, stored=True),
        summary=TEXT(analyzer=text),
        content=TEXT(analyzer=text),
        tags=KEYWORD(commas=True, lowercase=True, scorable=True),
        kind=ID,
        objectives=KEYWORD,
        languages=KEYWORD,
        org=ID,
        date=DATETIME(sortable=True),
        year=NUMERIC(sortable=True),
        province=ID,
        district=ID,
        commune=ID,
        status=ID,
        visibility=ID,
        owner=ID,
        updated=STORED,
    )
