"""The pickers a chat opens in the background: sessions of its directory (paged) and
directories inside the approved roots. Each one is a choice prompt; a pick changes the
chat's binding."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from chat_adapters.binding import Binding
from chat_adapters.chat_services import ChatServices
from chat_adapters.choices import Choice, ChoicePrompt
from chat_adapters.session_views import one_line, picker_line, session_label
from chat_adapters.surface import Surface
from storage import ChatKey, ChatPreferences

PAGE_SIZE = 6
PICKER_TIMEOUT_S = 600.0
_CANCEL, _NEW, _MORE = "cancel", "new", "more"


async def session_picker(
    services: ChatServices, binding: Binding, surface: Surface, chat: ChatKey
) -> None:
    prefs = await services.db.preferences.get(chat)
    directory = binding.directory(prefs)
    found = [
        s
        for s in await asyncio.to_thread(services.catalog.list, directory=directory, limit=200)
        if s.has_transcript and services.roots.allows(s.project)
    ]
    page = 0
    while True:
        shown = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        now = datetime.now(UTC)
        options = [Choice(str(i), session_label(s, now)) for i, s in enumerate(shown)]
        options.append(Choice(_NEW, "➕ New session", "primary"))
        if (page + 1) * PAGE_SIZE < len(found):
            options.append(Choice(_MORE, "Older ›"))
        options.append(Choice(_CANCEL, "Close"))
        title = f"Sessions in {directory}" + (f" (page {page + 1})" if page else "")
        doors = await services.db.doors.doors_for([s.session_id for s in shown])
        body = "\n".join(
            picker_line(i + 1, s, [d.door for d in doors.get(s.session_id, [])], now)
            for i, s in enumerate(shown)
        )
        answer = await surface.ask_choice(
            ChoicePrompt(
                title=title,
                body=body or "No sessions here yet. Send a message to start one.",
                options=tuple(options),
                timeout_choice=_CANCEL,
                timeout_s=PICKER_TIMEOUT_S,
            )
        )
        choice = answer.choice_id
        if choice == _MORE:
            page += 1
            continue
        if choice == _NEW:
            await binding.start_new(surface, chat)
        elif choice not in (None, _CANCEL):
            await binding.pin(surface, chat, shown[int(choice)])
        return


async def directory_picker(
    binding: Binding, surface: Surface, chat: ChatKey, prefs: ChatPreferences
) -> None:
    dirs = (await asyncio.to_thread(binding.directories))[:20]
    options = [Choice(str(i), one_line(binding.pretty_dir(d), 60)) for i, d in enumerate(dirs)]
    options.append(Choice(_CANCEL, "Cancel"))
    answer = await surface.ask_choice(
        ChoicePrompt(
            title=f"Directory (now {binding.directory(prefs)})",
            options=tuple(options),
            timeout_choice=_CANCEL,
            timeout_s=PICKER_TIMEOUT_S,
        )
    )
    if answer.choice_id not in (None, _CANCEL):
        await binding.change_directory(surface, chat, dirs[int(answer.choice_id)])
