"""Saved chats in the app: which chat is open per collection, the list in the sidebar, each turn saved.

The open chat's id is also in the address (`?chat=12`), so reloading the page reopens it. Switching collection
switches to that collection's chat: answers never stay on screen beside another collection's documents.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.conversations import Conversations, Turn
from assistant.ui import safe_markdown
from ingest import Settings
from ingest.names import COLLECTION_NAME

#: How many past chats the sidebar lists.
LISTED = 15


def store(settings: Settings) -> Conversations:
    return Conversations.from_settings(settings)


def from_address(base: Settings) -> None:
    """On a page's first run, the chat (and collection) its address names: a reload keeps the chat."""
    state = st.session_state
    if "open_chats" in state:
        return
    state.open_chats = {}
    chat = st.query_params.get("chat", "")
    collection = st.query_params.get("collection", "")
    info = store(base).get(int(chat)) if chat.isdigit() else None
    if info is not None:
        state.open_chats[info.collection] = info.id
        collection = info.collection
    if collection and COLLECTION_NAME.match(collection):
        state.pending_collection = collection  # applied by the sidebar before its widget exists


def follow_collection(settings: Settings) -> None:
    """Show the chat that belongs to the collection in use: the one open there before, else a new one."""
    state = st.session_state
    if state.get("chat_collection") == settings.collection:
        return
    if "chat_collection" in state:
        state.open_chats[state.chat_collection] = state.get("chat_id")
    open_chat(settings, state.open_chats.get(settings.collection))


def open_chat(settings: Settings, chat_id: int | None) -> None:
    """Put a saved chat (None: a new, empty one) on screen, with its history for follow-ups."""
    state = st.session_state
    info = store(settings).get(chat_id) if chat_id is not None else None
    if info is None or info.collection != settings.collection:
        chat_id = None
    state.chat_id = chat_id
    state.chat_collection = settings.collection
    state.open_chats[settings.collection] = chat_id
    state.messages = store(settings).messages(chat_id) if chat_id is not None else []
    state.chat.history = [{"role": m["role"], "content": m["content"]} for m in state.messages if not m.get("error")]
    state.pop("confirm_delete_chat", None)
    _address(settings)


def _address(settings: Settings) -> None:
    wanted = {"collection": settings.collection} | (
        {"chat": str(st.session_state.chat_id)} if st.session_state.chat_id is not None else {}
    )
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def save_turn(settings: Settings, question: str, record: dict[str, Any]) -> None:
    """Save a finished (or stopped) answer at once; the chat itself is created with its first turn."""
    state = st.session_state
    chats = store(settings)
    created = state.get("chat_id") is None
    if created:
        state.chat_id = chats.create(settings.collection, question)
        state.open_chats[settings.collection] = state.chat_id
    chats.add_turn(state.chat_id, Turn.from_record(question, record))
    if created:  # last: telling the browser may be where a stopped run is interrupted
        _address(settings)


def new_chat(settings: Settings) -> None:
    open_chat(settings, None)


def chat_list(settings: Settings, bar: Any) -> None:
    """The sidebar's past chats of this collection (in `bar`): open one, rename or delete the open one."""
    chats = store(settings).chats(settings.collection)
    bar.markdown(f"**Chats in {safe_markdown(settings.collection)}**")
    if bar.button("New chat", key="sidebar-new-chat", icon=":material/add:", disabled=not st.session_state.messages):
        new_chat(settings)
        st.rerun()
    if not chats:
        bar.caption("Your questions and answers are saved here, one chat per conversation.")
        return
    for info in chats[:LISTED]:
        current = info.id == st.session_state.get("chat_id")
        if (
            bar.button(
                safe_markdown(info.title),
                key=f"open-chat-{info.id}",
                type="primary" if current else "secondary",
                width="stretch",
                help=f"{info.turns} question{'s' if info.turns != 1 else ''}, last {info.updated_at[:16]}",
            )
            and not current
        ):
            open_chat(settings, info.id)
            st.rerun()
    if len(chats) > LISTED:
        bar.caption(f"and {len(chats) - LISTED} older chats")
    current = next((c for c in chats if c.id == st.session_state.get("chat_id")), None)
    if current is not None:
        manage_chat(settings, current.id, current.title, bar)


def manage_chat(settings: Settings, chat_id: int, title: str, bar: Any) -> None:
    with bar.expander("Rename or delete this chat"):
        name = st.text_input("Title", value=title, key=f"chat-title-{chat_id}", max_chars=60)
        if st.button("Rename", key="rename-chat", disabled=not name.strip() or name.strip() == title):
            store(settings).rename(chat_id, name)
            st.rerun()
        if st.session_state.get("confirm_delete_chat") != chat_id:
            if st.button("Delete this chat…", key="delete-chat"):
                st.session_state.confirm_delete_chat = chat_id
                st.rerun()
            return
        st.warning(safe_markdown(f"Delete “{title}” and its answers? This can't be undone."))
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key="delete-chat-yes", type="primary"):
            store(settings).delete(chat_id)
            new_chat(settings)
            st.rerun()
        if no.button("Cancel", key="delete-chat-no"):
            st.session_state.pop("confirm_delete_chat", None)
            st.rerun()
