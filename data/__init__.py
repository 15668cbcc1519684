"""OneGrid data layer: store, region, ingest, feeds and queries. Never imports dash."""
