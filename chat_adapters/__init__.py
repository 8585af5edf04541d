"""chat_adapters."""
