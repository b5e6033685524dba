"""The adapters: HTTP routes, pages and Socket.IO handlers over qa.domain."""
