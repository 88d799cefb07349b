"""The FastAPI server, grouped by feature: live/ (the live core and the trainers), runs/, races/,
landscape/, teaching/, store/ (docs/architecture.md is the map)."""
