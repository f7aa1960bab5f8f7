"""The coach's web server: session API, tokens, pages, and a same-origin proxy to LiveKit signaling."""
