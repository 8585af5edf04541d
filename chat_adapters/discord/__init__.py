"""chat_adapters/discord."""
