"""The FastAPI server: REST routes, the WebSocket stream, the run manager, persistence (see DESIGN.md)."""
