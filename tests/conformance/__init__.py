"""The behaviour suite every Surface implementation runs."""
