"""chat_adapters/telegram."""
