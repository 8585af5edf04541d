"""How a Telegram button carries its key: ``callback_data`` of at most 64 bytes.

A button's data is an interactions key (:mod:`chat_adapters.interactions`, where its
meaning lives) plus, for a prompt's option, which option it is: ``<key>:<index>``.
Also the two keyboards the bot shows: a prompt's options and a live reply's Stop.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from chat_adapters.choices import ChoicePrompt

KEY_SEPARATOR = ":"
MAX_DATA_BYTES = 64
STOP_LABEL = "⏹ Stop"
SHORT_LABEL = 20
"""Labels up to this long share a keyboard row; longer ones get a row each."""


def button_data(key: str, suffix: str = "") -> str:
    """The ``callback_data`` of a button: the key, and which option it is."""
    data = f"{key}{KEY_SEPARATOR}{suffix}" if suffix else key
    if len(data.encode("utf-8")) > MAX_DATA_BYTES:
        raise ValueError(f"callback data over {MAX_DATA_BYTES} bytes: {data!r}")
    return data


def parse_data(data: str) -> tuple[str, str]:
    """The key and the suffix a button's ``callback_data`` carries."""
    key, _, suffix = data.partition(KEY_SEPARATOR)
    return key, suffix


def stop_keyboard(key: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(STOP_LABEL, callback_data=button_data(key))]]
    )


def choice_keyboard(prompt: ChoicePrompt, key: str, per_row: int) -> InlineKeyboardMarkup:
    """Short labels share rows (up to ``per_row``); a long label gets its own."""
    rows: list[list[InlineKeyboardButton]] = []
    for index, option in enumerate(prompt.options):
        button = InlineKeyboardButton(option.label, callback_data=button_data(key, str(index)))
        short = len(option.label) <= SHORT_LABEL
        if short and rows and len(rows[-1]) < per_row and len(rows[-1][-1].text) <= SHORT_LABEL:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)
